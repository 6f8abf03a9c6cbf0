import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import { exampleConnectionId } from '../../../dev/sandbox/seed.js';
import { REJECTED_ID } from '../../support/arm.js';
import { bearer } from '../../support/callers.js';
import type { TestHost, TestResponse } from '../../support/host.js';
import { startTestHost } from '../../support/host.js';
import type { CallCounter, StorageCall } from '../../support/storage-calls.js';
import { callCounter, countedStores } from '../../support/storage-calls.js';

/**
 * Table Storage round trips per kind of request, counted on the real @azure/data-tables clients (a pipeline
 * policy sees every request they send to Azurite). Everything counted here is made before the answer leaves.
 * Signed requests (Standard Webhooks) also write their two replay marks beside the connection's chain: in the
 * transaction that claims a decision's key, or in one of their own before anything else; a bearer caller writes
 * none.
 */

let sandbox: Sandbox;
let app: CountedHost;
let strict: CountedHost;

interface CountedHost {
  host: TestHost;
  counter: CallCounter;
  prefix: string;
}

async function countedHost(env: Record<string, string> = {}): Promise<CountedHost> {
  const counter = callCounter();
  const prefix = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const all = { ...env, TABLE_PREFIX: prefix };
  const host = await startTestHost(sandbox, all, { stores: countedStores(sandbox, prefix, counter, all) });
  return { host, counter, prefix };
}

beforeAll(async () => {
  sandbox = await startSandbox();
  app = await countedHost();
  // No rule lists the generic caller: its requests are refused by the state-free policy gate.
  strict = await countedHost({ POLICY_PATH: 'test/fixtures/policy/full.yaml' });
});
afterAll(async () => {
  await app?.host.host.close();
  await strict?.host.host.close();
  await sandbox?.close();
});
beforeEach(() => sandbox.reset());

/**
 * The table calls `send` made: `marks`, the replay marks written (wherever they went); `alone`, the calls that wrote
 * nothing else; `rest`, every other call.
 */
async function calls(
  on: CountedHost,
  send: () => Promise<TestResponse>,
): Promise<{ res: TestResponse; marks: number; alone: number; rest: string[]; bindingAfterClaim: boolean }> {
  const mark = on.counter.mark();
  const res = await send();
  const made = on.counter
    .since(mark)
    // The queue client shares the counter; only table calls are counted.
    .filter((c) => c.table.startsWith(on.prefix) || c.table.startsWith('$batch'));
  const name = (c: StorageCall) => `${c.method} ${c.table.replace(on.prefix, '')}`;
  return {
    res,
    marks: made.reduce((sum, c) => sum + c.marks, 0),
    alone: made.filter((c) => c.onlyMarks).length,
    rest: made
      .filter((c) => !c.onlyMarks)
      .map(name)
      .sort(),
    bindingAfterClaim: bindingAfterClaim(made, on.prefix),
  };
}

/** Whether the key's binding was sent only once the claim's transaction (the first audit batch) was answered. */
function bindingAfterClaim(made: readonly StorageCall[], prefix: string): boolean {
  const claim = made.find((c) => c.table === `$batch ${prefix}Audit`);
  const binding = made.find((c) => c.method === 'POST' && c.table === `${prefix}Idempotency`);
  return claim !== undefined && binding !== undefined && binding.sent > claim.done;
}

const signed = (on: CountedHost, body: unknown, query = '', headers: Record<string, string> = {}) =>
  on.host.signedPost(`/api/approvals${query}`, body, { headers });

/**
 * The key bound to its body, beside the claim and the lease in one transaction (one round trip); then the record,
 * the head's release and the claim's completion in one transaction (the second). The request id names the
 * connection's chain, so no index row is written for it.
 */
const DECISION = [
  'POST Idempotency', // the key's binding to its body (after the claim when the claim carries replay marks)
  'POST $batch Audit', // claim + lease (+ a signed request's replay marks; a new connection's head is inserted)
  'POST $batch Audit', // record + head + the claim completed (or given back)
].sort();

describe('storage calls per request kind', () => {
  it("an approval: 3 calls (its replay marks in the claim's transaction when signed, the binding after it), no chain-head read", async () => {
    const first = await calls(app, () =>
      signed(app, { connectionId: exampleConnectionId(40), decision: 'Approved' }),
    );
    expect(first.res.json.outcome, first.res.text).toBe('approved');
    expect(first.marks).toBe(2);
    expect(first.alone).toBe(0);
    expect(first.rest).toEqual(DECISION);
    // A replay under a fresh key must be refused before its key is bound: the binding waits for the claim.
    expect(first.bindingAfterClaim).toBe(true);

    // Readable by its id at once: the chain its id names (one row asked for), its id row, then the record; beside
    // them its index row (none: noted records have one), where queued work stands and whom a late outcome reached.
    const read = await calls(app, () => app.host.signedGet(`/api/approvals/${first.res.json.id as string}`));
    expect(read.res.status, read.res.text).toBe(200);
    expect(read.res.json.requestId).toBe(first.res.json.id);
    expect(read.rest).toEqual([...Array<string>(5).fill('GET Audit'), 'GET Operations']);

    // The next decision on it: the head's ETag is known, so the lease is a conditional update in the claim's
    // transaction (no read).
    const second = await calls(app, () =>
      signed(app, { connectionId: exampleConnectionId(40), decision: 'Rejected' }),
    );
    expect(second.res.json.outcome, second.res.text).toBe('rejected');
    expect(second.alone).toBe(0);
    expect(second.rest).toEqual(DECISION);
  });

  it('a bearer caller writes no replay marks: 3 calls in 2 round trips, the binding beside the claim', async () => {
    const auth = await bearer(sandbox);
    const res = await calls(app, () =>
      app.host.post(
        '/api/approvals',
        JSON.stringify({ connectionId: exampleConnectionId(41), decision: 'Approved' }),
        { 'content-type': 'application/json', authorization: auth, 'idempotency-key': randomUUID() },
      ),
    );
    expect(res.res.json.outcome, res.res.text).toBe('approved');
    expect(res.marks).toBe(0);
    expect(res.rest).toEqual(DECISION);
    expect(res.bindingAfterClaim).toBe(false);
  });

  it('an unchanged answer costs what a decision costs: it met the state, so it is chained', async () => {
    await signed(app, { connectionId: exampleConnectionId(42), decision: 'Approved' });
    const res = await calls(app, () =>
      signed(app, { connectionId: exampleConnectionId(42), decision: 'Approved' }),
    );
    expect(res.res.json.outcome, res.res.text).toBe('unchanged');
    expect(res.rest).toEqual(DECISION);
  });

  it('a dry run: one call (its record) after the replay marks (one call of their own, before the read, when signed)', async () => {
    const res = await calls(app, () =>
      signed(app, { connectionId: exampleConnectionId(43), decision: 'Approved' }, '?dryRun=true'),
    );
    expect(res.res.json.outcome, res.res.text).toBe('dry-run');
    expect(res.marks).toBe(2);
    expect(res.alone).toBe(1);
    expect(res.rest).toEqual(['POST Audit']);
  });

  it('a request refused at validation or authentication: no call at all', async () => {
    const invalid = await calls(app, () => signed(app, { connectionId: 'not-an-id', decision: 'Approved' }));
    expect(invalid.res.status).toBe(400);
    expect(invalid.marks + invalid.rest.length).toBe(0);
    const unsigned = await calls(app, () =>
      app.host.post(
        '/api/approvals',
        JSON.stringify({ connectionId: exampleConnectionId(44), decision: 'Approved' }),
      ),
    );
    expect(unsigned.res.status).toBe(401);
    expect(unsigned.marks + unsigned.rest.length).toBe(0);
  });

  it('a caller policy does not list: its key bound to its body (so it keeps it) and its claim looked at, its record; no claim, no lease', async () => {
    const res = await calls(strict, () =>
      signed(strict, { connectionId: exampleConnectionId(45), decision: 'Approved' }),
    );
    expect(res.res.status, res.res.text).toBe(403);
    expect(res.rest).toEqual(['GET Audit', 'POST Audit', 'POST Idempotency'].sort());
    // A dry run binds and claims nothing: its record alone.
    const dry = await calls(strict, () =>
      signed(strict, { connectionId: exampleConnectionId(45), decision: 'Approved' }, '?dryRun=true'),
    );
    expect(dry.res.status, dry.res.text).toBe(403);
    expect(dry.rest).toEqual(['POST Audit']);
  });

  it('a denial on the state met (a transition policy forbids) is decided under the lease and chained', async () => {
    const res = await calls(app, () => signed(app, { connectionId: REJECTED_ID, decision: 'Approved' }));
    expect(res.res.status, res.res.text).toBe(409);
    // The claim is given back rather than completed (so a retry is judged again), in the record's transaction.
    expect(res.rest).toEqual(DECISION);
  });

  it('a repeat answered from the stored answer: the binding and the claim met (each inserted, then read), and the replay record', async () => {
    const key = randomUUID();
    const body = { connectionId: exampleConnectionId(46), decision: 'Approved' };
    const first = await signed(app, body, '', { 'idempotency-key': key });
    expect(first.json.outcome).toBe('approved');
    const again = await calls(app, () => signed(app, body, '', { 'idempotency-key': key }));
    expect(again.res.headers.get('idempotent-replayed'), again.res.text).toBe('true');
    expect(again.rest).toEqual(
      ['POST Idempotency', 'GET Idempotency', 'POST $batch Audit', 'GET Audit', 'POST Audit'].sort(),
    );
  });
});
