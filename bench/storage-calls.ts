/**
 * Storage calls seen from outside the app: every request the host sends to Table or Queue Storage passes a
 * counting proxy (storage-proxy.ts), which writes it here. Requests to the host are sent one at a time, so a
 * call belongs to the request in flight: the calls seen between sending a request and receiving its answer are
 * its response path, those seen after the answer until storage is quiet again are its work after the answer.
 */

export type StorageService = 'table' | 'queue';

export interface StorageCall {
  service: StorageService;
  /** What the call does, e.g. `insert countIdempotency`, `batch`, `queue send`. */
  operation: string;
}

/** The part of a URL path after the account segment (`/devstoreaccount1`), without the query. */
function resourcePath(path: string): string {
  const noQuery = path.split('?')[0] ?? '';
  const segments = noQuery.split('/').filter((s) => s.length > 0);
  return segments.slice(1).join('/');
}

/**
 * One call's operation, from its method, path and whether it is conditional (If-Match); `tablePrefix` (the
 * host's TABLE_PREFIX) is left out of table names so kinds read the same whatever prefix a run used.
 */
export function classifyCall(
  service: StorageService,
  method: string,
  path: string,
  conditional: boolean,
  tablePrefix = '',
): string {
  const m = method.toUpperCase();
  const resource = resourcePath(path);
  if (service === 'queue') {
    if (!resource.includes('/')) return `queue ${m === 'PUT' ? 'create' : m.toLowerCase()}`;
    if (resource.endsWith('/messages')) {
      if (m === 'POST') return 'queue send';
      return path.includes('peekonly=true') ? 'queue peek' : m === 'GET' ? 'queue receive' : `queue ${m}`;
    }
    return m === 'DELETE' ? 'queue delete message' : m === 'PUT' ? 'queue update message' : `queue ${m}`;
  }
  if (resource === '$batch') return 'batch';
  if (resource === 'Tables' || resource.startsWith('Tables('))
    return m === 'POST' ? 'create table' : 'tables';
  const open = resource.indexOf('(');
  const fullName = open < 0 ? resource : resource.slice(0, open);
  const table =
    tablePrefix !== '' && fullName.startsWith(tablePrefix) ? fullName.slice(tablePrefix.length) : fullName;
  const entity = open >= 0 && resource.slice(open) !== '()';
  switch (m) {
    case 'POST':
      return `insert ${table}`;
    case 'GET':
      return `${entity ? 'read' : 'query'} ${table}`;
    case 'PUT':
      return `${conditional ? 'replace' : 'upsert'} ${table}`;
    case 'MERGE':
    case 'PATCH':
      return `${conditional ? 'merge' : 'upsert-merge'} ${table}`;
    case 'DELETE':
      return `delete ${table}`;
    default:
      return `${m.toLowerCase()} ${table}`;
  }
}

/** Every call in arrival order; a mark is a position in it. */
export class CallLedger {
  private readonly calls: StorageCall[] = [];

  record(call: StorageCall): void {
    this.calls.push(call);
  }

  mark(): number {
    return this.calls.length;
  }

  between(from: number, to: number = this.calls.length): StorageCall[] {
    return this.calls.slice(from, to);
  }
}

/** One request's calls: before its answer, and after it until storage went quiet. */
export interface RequestCalls {
  responsePath: StorageCall[];
  after: StorageCall[];
}

export function attribute(ledger: CallLedger, sent: number, answered: number, settled: number): RequestCalls {
  return { responsePath: ledger.between(sent, answered), after: ledger.between(answered, settled) };
}

export interface CountRange {
  min: number;
  max: number;
  median: number;
}

export interface KindSummary {
  requests: number;
  responsePath: CountRange;
  after: CountRange;
  /** Operations per request, averaged over the requests (e.g. `insert countIdempotency` 1). */
  pathOperations: Record<string, number>;
  afterOperations: Record<string, number>;
}

function range(values: readonly number[]): CountRange {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
    median: sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN,
  };
}

function perRequest(lists: readonly StorageCall[][]): Record<string, number> {
  const operations: Record<string, number> = {};
  for (const call of lists.flat()) operations[call.operation] = (operations[call.operation] ?? 0) + 1;
  for (const op of Object.keys(operations)) {
    operations[op] = (operations[op] ?? 0) / Math.max(1, lists.length);
  }
  return operations;
}

export function summarizeKind(samples: readonly RequestCalls[]): KindSummary {
  return {
    requests: samples.length,
    responsePath: range(samples.map((s) => s.responsePath.length)),
    after: range(samples.map((s) => s.after.length)),
    pathOperations: perRequest(samples.map((s) => s.responsePath)),
    afterOperations: perRequest(samples.map((s) => s.after)),
  };
}

/** `3`, or `3-4 (median 3)` when requests of one kind differed. */
export function formatRange(r: CountRange): string {
  if (Number.isNaN(r.min)) return '-';
  return r.min === r.max ? String(r.min) : `${r.min}-${r.max} (median ${r.median})`;
}

/** How a kind stands against its target (issue 14): the worst request counts. Printed, never failing the run. */
export function againstTarget(r: CountRange, target: number | undefined): string {
  if (target === undefined) return '';
  if (Number.isNaN(r.max)) return `<= ${target}: not measured`;
  return r.max <= target ? `<= ${target}: met` : `<= ${target}: OVER by ${r.max - target}`;
}

/** `insert countIdempotency x1, batch x1` in a stable order, for the report's notes. */
export function formatOperations(operations: Record<string, number>): string {
  return Object.entries(operations)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, n]) => `${op} x${Number.isInteger(n) ? n : n.toFixed(1)}`)
    .join(', ');
}
