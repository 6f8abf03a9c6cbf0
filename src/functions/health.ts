import type { AppState } from '../composition-root.js';
import type { RouteHandler } from '../http/route-types.js';

/** `GET /api/health`: whether configuration (and policy) loaded. Names problems, never values. */
export function healthHandler(state: AppState): RouteHandler {
  return async () => {
    const body = state.ok
      ? { status: 'ok', checks: { config: { ok: true } } }
      : { status: 'unhealthy', checks: { config: { ok: false, problems: state.problems } } };
    return {
      status: state.ok ? 200 : 503,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      body: JSON.stringify(body),
    };
  };
}
