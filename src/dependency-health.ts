import type { PipelinePolicy, PipelineResponse } from '@azure/core-rest-pipeline';
import { isRestError } from '@azure/core-rest-pipeline';

/**
 * What the app last saw of each dependency, from the calls it makes anyway: `/api/health` reports it with its
 * age, so a probe never makes the app call Resource Manager, Key Vault or storage itself.
 */

export type DependencyName = 'storage' | 'keyVault' | 'arm' | 'entra';

export interface DependencyState {
  state: 'unknown' | 'ok' | 'degraded';
  /** When the state last changed (ISO 8601). */
  since?: string;
  /** Seconds since the last call that said anything about this dependency. */
  lastSeenSecondsAgo?: number;
  /** Why it is degraded: an HTTP status or an error code, never a message that could hold a secret. */
  reason?: string;
}

export interface DependencyHealth {
  report(name: DependencyName, ok: boolean, reason?: string): void;
  snapshot(): Record<DependencyName, DependencyState>;
}

interface Seen {
  ok: boolean;
  since: number;
  at: number;
  reason?: string;
}

const NAMES: readonly DependencyName[] = ['storage', 'keyVault', 'arm', 'entra'];

export function createDependencyHealth(now: () => number): DependencyHealth {
  const seen = new Map<DependencyName, Seen>();
  return {
    report(name, ok, reason) {
      const at = now();
      const previous = seen.get(name);
      const since = previous !== undefined && previous.ok === ok ? previous.since : at;
      seen.set(name, ok ? { ok, since, at } : { ok, since, at, reason: reason ?? 'failed' });
    },
    snapshot() {
      const at = now();
      const out = {} as Record<DependencyName, DependencyState>;
      for (const name of NAMES) {
        const s = seen.get(name);
        out[name] =
          s === undefined
            ? { state: 'unknown' }
            : {
                state: s.ok ? 'ok' : 'degraded',
                since: new Date(s.since).toISOString(),
                lastSeenSecondsAgo: Math.max(0, Math.round((at - s.at) / 1000)),
                ...(s.reason === undefined ? {} : { reason: s.reason }),
              };
      }
      return out;
    },
  };
}

/** A response says the dependency is unwell when it is throttling, failing, or refusing our identity. */
function unwell(response: PipelineResponse): string | undefined {
  const s = response.status;
  return s === 429 || s >= 500 || s === 401 ? `HTTP ${s}` : undefined;
}

/**
 * A pipeline policy (per attempt) that reports every answer or transport failure of an Azure SDK client.
 * `forbiddenIsUnwell`: for storage and Key Vault a 403 means our identity lacks its role (the whole dependency
 * is unusable); for Resource Manager it concerns one resource only.
 */
export function healthPolicy(
  health: DependencyHealth,
  name: DependencyName,
  forbiddenIsUnwell = true,
): PipelinePolicy {
  return {
    name: `health-${name}`,
    async sendRequest(request, next) {
      try {
        const response = await next(request);
        const reason =
          unwell(response) ?? (forbiddenIsUnwell && response.status === 403 ? 'HTTP 403' : undefined);
        health.report(name, reason === undefined, reason);
        return response;
      } catch (error) {
        if (isRestError(error) && error.response) {
          health.report(name, unwell(error.response) === undefined, unwell(error.response));
        } else if (!(error instanceof Error && error.name === 'AbortError')) {
          health.report(
            name,
            false,
            isRestError(error) ? (error.code ?? 'transport error') : 'transport error',
          );
        }
        throw error;
      }
    },
  };
}
