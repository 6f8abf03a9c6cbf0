import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { AppOverrides } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { createStores } from '../../src/store/create-stores.js';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { hostEnv } from './host.js';

/** One storage request as it left the SDK: method, table (or `$batch`) and the HTTP status it got. */
export interface StorageCall {
  method: string;
  table: string;
  status: number;
}

/**
 * Counts every request the table clients send (each attempt, retries included) through a pipeline policy on the
 * real @azure/data-tables clients, so a test can assert how many round trips a request kind makes.
 */
export interface CallCounter {
  policy: PipelinePolicy;
  calls(): readonly StorageCall[];
  /** Calls since the last `mark`. */
  since(mark: number): readonly StorageCall[];
  mark(): number;
}

export function callCounter(): CallCounter {
  const calls: StorageCall[] = [];
  return {
    policy: {
      name: 'test-storage-call-counter',
      async sendRequest(request, next) {
        const path = new URL(request.url).pathname.split('/').filter((p) => p.length > 0);
        // Azurite's path is /<account>/<table>(...); Azure's is /<table>(...).
        const last = path[path.length - 1] ?? '';
        const table = last.replace(/\(.*$/, '');
        const entry: StorageCall = { method: request.method, table, status: 0 };
        calls.push(entry);
        try {
          const response = await next(request);
          entry.status = response.status;
          return response;
        } catch (error) {
          entry.status = -1;
          throw error;
        }
      },
    },
    calls: () => calls,
    since: (mark) => calls.slice(mark),
    mark: () => calls.length,
  };
}

/** Stores for a test host whose every table call goes through `counter`. */
export function countedStores(
  sandbox: Sandbox,
  tablePrefix: string,
  counter: CallCounter,
  env: Record<string, string> = {},
): AppOverrides['stores'] {
  const config = loadConfig(hostEnv(sandbox, tablePrefix, env));
  return createStores(
    config.storage,
    { getToken: () => Promise.resolve(null) },
    {
      clock: Date.now,
      tuning: { policies: [counter.policy] },
    },
  );
}
