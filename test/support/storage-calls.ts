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
  /** The row a point read or write names (`head` for a chain head), when the URL names one. */
  rowKey?: string;
  /** How many replay marks it writes, and whether they are all it writes. */
  marks: number;
  onlyMarks: boolean;
  /** When it was sent and when its answer came, in one order across all calls (so overlaps show). */
  sent: number;
  done: number;
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
  let tick = 0;
  return {
    policy: {
      name: 'test-storage-call-counter',
      async sendRequest(request, next) {
        const path = new URL(request.url).pathname.split('/').filter((p) => p.length > 0);
        // Azurite's path is /<account>/<table>(...); Azure's is /<table>(...).
        const last = path[path.length - 1] ?? '';
        // An entity-group transaction names its table only inside its body: `$batch <table>`.
        const table = last === '$batch' ? `$batch ${batchTable(request.body)}` : last.replace(/\(.*$/, '');
        const rowKey = /RowKey='([^']*)'/.exec(decodeURIComponent(last))?.[1];
        const written = rowsWritten(last, request.body);
        const entry: StorageCall = {
          method: request.method,
          table,
          status: 0,
          ...(rowKey ? { rowKey } : {}),
          marks: written.marks,
          onlyMarks: written.marks > 0 && written.marks === written.rows,
          sent: tick++,
          done: -1,
        };
        calls.push(entry);
        try {
          const response = await next(request);
          entry.status = response.status;
          return response;
        } catch (error) {
          entry.status = -1;
          throw error;
        } finally {
          entry.done = tick++;
        }
      },
    },
    calls: () => calls,
    since: (mark) => calls.slice(mark),
    mark: () => calls.length,
  };
}

/** Rows a write sends (each change of a transaction), and how many of them are replay marks (`kind` mark). */
function rowsWritten(last: string, body: unknown): { rows: number; marks: number } {
  const text = typeof body === 'string' ? body : '';
  const marks = text.match(/"kind":"mark"/g)?.length ?? 0;
  if (last !== '$batch') return { rows: text.length > 0 ? 1 : 0, marks };
  return { rows: text.match(/^(?:POST|PUT|PATCH|MERGE|DELETE) /gm)?.length ?? 0, marks };
}

/** The table an entity-group transaction's body writes to (every change set is in one table). */
function batchTable(body: unknown): string {
  const text = typeof body === 'string' ? body : '';
  return /^(?:POST|PUT|PATCH|MERGE|DELETE) \S*\/([A-Za-z0-9]+)(?:\(|\?|\s)/m.exec(text)?.[1] ?? '?';
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
