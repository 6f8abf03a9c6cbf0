import { randomUUID } from 'node:crypto';
import type { AppState } from '../composition-root.js';
import type { RouteHandler } from '../http/route-types.js';

/** `GET /api/health`: whether configuration (and policy) loaded. Names problems, never values. */
export function healthHandler(state: AppState): RouteHandler {
  return async () => {
    const policy = state.ok ? state.deps.policyStatus : undefined;
    const healthy = state.ok && policy?.ok === true;
    const body = {
      status: healthy ? 'ok' : 'unhealthy',
      checks: {
        config: state.ok ? { ok: true } : { ok: false, problems: state.problems },
        ...(policy ? { policy } : {}),
      },
    };
    return {
      status: healthy ? 200 : 503,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'x-request-id': randomUUID(),
      },
      body: JSON.stringify(body),
    };
  };
}
