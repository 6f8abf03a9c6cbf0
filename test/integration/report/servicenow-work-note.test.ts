import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import type { Outbound } from '../../../src/report/outbound.js';
import { createOutbound, ReportError } from '../../../src/report/outbound.js';
import type {
  ServiceNowClient,
  ServiceNowWriterOptions,
  WorkNoteWriter,
} from '../../../src/report/servicenow-work-note.js';
import { createServiceNowClient } from '../../../src/report/servicenow-work-note.js';
import { sandboxSecrets } from '../../support/arm.js';
import type { Received, StandIn } from '../../support/https-stand-in.js';
import { startHttpsStandIn } from '../../support/https-stand-in.js';

/**
 * Work notes through ServiceNow's Table API, against the sandbox's ServiceNow stand-in: credentials from the Key
 * Vault stand-in (read with the real SecretClient and managed identity credential), OAuth client credentials
 * fetched once and reused, basic authentication for instances without OAuth, and failures that name no secret.
 */

const CREDENTIALS = 'servicenow-api-credentials';
const BASIC = { username: 'sandbox.integration', password: 'sandbox' };
const sysId = (): string => randomBytes(16).toString('hex');

let sandbox: Sandbox;
let nowMs = 0;
const standIns: StandIn[] = [];

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});
beforeEach(() => {
  sandbox.reset();
  nowMs = Date.UTC(2025, 5, 1, 12, 0, 0);
});
afterEach(async () => {
  await Promise.all(standIns.splice(0).map((s) => s.close()));
});

const outbound = (): Outbound => createOutbound({ tls: { ca: sandbox.caCertPem } });

/**
 * Credentials under a name of their own: Key Vault stamps versions in whole seconds, so a second version of the
 * seeded secret written in the same second would not reliably be the newest.
 */
function storeCredentials(value: string): string {
  const name = `servicenow-test-${randomBytes(4).toString('hex')}`;
  sandbox.keyVault.setSecret(name, value);
  return name;
}

function client(overrides: Partial<ServiceNowWriterOptions> = {}): ServiceNowClient {
  return createServiceNowClient({
    instanceUrl: `${sandbox.armEndpoint}/_servicenow`,
    table: 'change_request',
    credentialsSecretName: CREDENTIALS,
    secrets: sandboxSecrets(sandbox, { now: () => nowMs }),
    http: outbound(),
    now: () => nowMs,
    timeoutMs: 5_000,
    ...overrides,
  });
}

function writer(overrides: Partial<ServiceNowWriterOptions> = {}): WorkNoteWriter {
  return client(overrides).workNote;
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

function expectNoSecretIn(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe('createServiceNowWriter with OAuth client credentials', () => {
  it('writes the note as work_notes on the record of the configured table', async () => {
    const id = sysId();
    await writer()(id, 'Approved by the private link approver (request 1).');
    expect(sandbox.platforms.workNotes()).toEqual([
      {
        table: 'change_request',
        sysId: id,
        note: 'Approved by the private link approver (request 1).',
        at: expect.any(Number) as number,
      },
    ]);
    expect(sandbox.platforms.counts()).toMatchObject({ tokens: 1, workNotes: 1, refused: 0 });
  });

  it('writes to another table when configured so', async () => {
    const id = sysId();
    await writer({ table: 'sc_req_item' })(id, 'note');
    expect(sandbox.platforms.workNotes().map((n) => [n.table, n.sysId])).toEqual([['sc_req_item', id]]);
  });

  it('fetches one token and reuses it for later notes', async () => {
    const write = writer();
    for (let i = 0; i < 4; i++) {
      await write(sysId(), `note ${i}`);
      nowMs += 60_000;
    }
    expect(sandbox.platforms.counts()).toMatchObject({ tokens: 1, workNotes: 4 });
  });

  it('fetches a new token shortly before the old one expires (1799 s, renewed a minute early)', async () => {
    const write = writer();
    await write(sysId(), 'first');
    nowMs += (1_799 - 60) * 1_000 - 1;
    await write(sysId(), 'still the first token');
    expect(sandbox.platforms.counts().tokens).toBe(1);
    nowMs += 1;
    await write(sysId(), 'a new token');
    expect(sandbox.platforms.counts()).toMatchObject({ tokens: 2, workNotes: 3, refused: 0 });
  });

  it('keeps tokens per writer: a second writer fetches its own', async () => {
    await writer()(sysId(), 'a');
    await writer()(sysId(), 'b');
    expect(sandbox.platforms.counts().tokens).toBe(2);
  });

  it('fails with a ReportError naming the status when the token endpoint refuses, and no secret in it', async () => {
    const wrong = {
      clientId: sandbox.platforms.servicenowCredentials.clientId,
      clientSecret: 'not-the-secret-x9',
    };
    const name = storeCredentials(JSON.stringify(wrong));
    const error = await failureOf(writer({ credentialsSecretName: name })(sysId(), 'note'));
    expect(error).toBeInstanceOf(ReportError);
    expect(error.message).toMatch(/OAuth token endpoint answered 401/);
    expectNoSecretIn(error.message, [
      wrong.clientSecret,
      sandbox.platforms.servicenowCredentials.clientSecret,
    ]);
    expect(sandbox.platforms.counts()).toMatchObject({ tokens: 0, workNotes: 0, refused: 1 });
  });

  it('fails with a ReportError when ServiceNow is unavailable, and writes once it is back', async () => {
    const write = writer();
    sandbox.platforms.failNext('servicenow', 1);
    const error = await failureOf(write(sysId(), 'note'));
    expect(error).toBeInstanceOf(ReportError);
    expect(error.message).toMatch(/503/);
    const id = sysId();
    await write(id, 'note');
    expect(sandbox.platforms.workNotes().map((n) => n.sysId)).toEqual([id]);
  });

  it('fails when the PATCH is answered 503 after a good token, naming the record but no secret', async () => {
    const write = writer();
    await write(sysId(), 'warm the token');
    sandbox.platforms.failNext('servicenow', 1);
    const id = sysId();
    const error = await failureOf(write(id, 'note'));
    expect(error.message).toBe(`ServiceNow answered 503 to the work note on change_request/${id}`);
    expectNoSecretIn(error.message, [sandbox.platforms.servicenowCredentials.clientSecret]);
  });
});

describe('createServiceNowWriter with basic authentication', () => {
  it('sends the user and password from Key Vault as Basic, and fetches no token', async () => {
    const name = storeCredentials(JSON.stringify(BASIC));
    const id = sysId();
    await writer({ credentialsSecretName: name })(id, 'basic note');
    expect(sandbox.platforms.workNotes().map((n) => [n.sysId, n.note])).toEqual([[id, 'basic note']]);
    expect(sandbox.platforms.counts()).toMatchObject({ tokens: 0, workNotes: 1, refused: 0 });
  });

  it('fails on a wrong password without putting it, or its encoding, in the error', async () => {
    const wrong = { username: BASIC.username, password: 'wrong-pass-7f3a' };
    const name = storeCredentials(JSON.stringify(wrong));
    const error = await failureOf(writer({ credentialsSecretName: name })(sysId(), 'note'));
    expect(error).toBeInstanceOf(ReportError);
    expect(error.message).toMatch(/answered 401/);
    const encoded = Buffer.from(`${wrong.username}:${wrong.password}`).toString('base64');
    expectNoSecretIn(error.message, [wrong.password, encoded]);
    expect(sandbox.platforms.counts()).toMatchObject({ workNotes: 0, refused: 1 });
  });
});

describe('what the writer refuses to do', () => {
  it.each([
    ['not hex', 'z'.repeat(32)],
    ['too short', 'a'.repeat(31)],
    ['a path', `${'a'.repeat(16)}/../../sys_user`],
    ['upper case', 'A'.repeat(32)],
    ['empty', ''],
  ])('refuses a sys_id that is %s, before reading secrets or calling ServiceNow', async (_why, id) => {
    const before = sandbox.keyVault.counts().get[CREDENTIALS] ?? 0;
    const error = await failureOf(writer()(id, 'note'));
    expect(error).toBeInstanceOf(ReportError);
    expect(error.message).toMatch(/sys_id/);
    expect(sandbox.platforms.counts()).toMatchObject({ tokens: 0, workNotes: 0, refused: 0 });
    expect(sandbox.keyVault.counts().get[CREDENTIALS] ?? 0).toBe(before);
  });

  it.each([
    ['not JSON', 'clientSecret=abc123-not-json'],
    ['JSON of another shape', JSON.stringify({ client_id: 'x', client_secret: 'abc123-other-shape' })],
    ['a client id without its secret', JSON.stringify({ clientId: 'x' })],
    ['a number', '42'],
  ])('refuses credentials that are %s, naming the secret but not its value', async (_why, value) => {
    const name = storeCredentials(value);
    const error = await failureOf(writer({ credentialsSecretName: name })(sysId(), 'note'));
    expect(error).toBeInstanceOf(ReportError);
    expect(error.message).toContain(name);
    // The name is random hex, which may happen to hold a short value ('42'): look for the value elsewhere.
    expectNoSecretIn(error.message.replaceAll(name, '<name>'), [value, 'abc123']);
    expect(sandbox.platforms.counts()).toMatchObject({ tokens: 0, workNotes: 0 });
  });

  it('fails when the credentials secret does not exist', async () => {
    const error = await failureOf(writer({ credentialsSecretName: 'no-such-secret' })(sysId(), 'note'));
    expect(error.name).toBe('SecretNotFoundError');
    expect(sandbox.platforms.counts()).toMatchObject({ tokens: 0, workNotes: 0 });
  });
});

describe('against a ServiceNow that turns the token down later', () => {
  /** A minimal OAuth + Table API endpoint whose first PATCH answers 401, as after a token was revoked. */
  async function revokingInstance(): Promise<StandIn> {
    let patches = 0;
    let issued = 0;
    const instance = await startHttpsStandIn(sandbox.tls, (received: Received, res) => {
      if (received.path === '/oauth_token.do') {
        issued += 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: `token-${issued}`, expires_in: 1799 }));
        return;
      }
      patches += 1;
      res.writeHead(patches === 1 ? 401 : 200, { 'content-type': 'application/json' }).end('{}');
    });
    standIns.push(instance);
    return instance;
  }

  it('drops a token that was answered 401, and fetches a fresh one for the next note', async () => {
    const instance = await revokingInstance();
    const write = writer({ instanceUrl: instance.url('') });
    const first = await failureOf(write(sysId(), 'one'));
    expect(first.message).toMatch(/answered 401/);
    await write(sysId(), 'two');

    const received = instance.received();
    expect(received.map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{32}$/, '{sys_id}')}`)).toEqual([
      'POST /oauth_token.do',
      'PATCH /api/now/table/change_request/{sys_id}',
      'POST /oauth_token.do',
      'PATCH /api/now/table/change_request/{sys_id}',
    ]);
    expect(received[1]!.headers.authorization).toBe('Bearer token-1');
    expect(received[3]!.headers.authorization).toBe('Bearer token-2');
  });

  it('asks for client credentials as a form, and PATCHes JSON with only work_notes', async () => {
    const instance = await revokingInstance();
    const write = writer({ instanceUrl: instance.url('') });
    await failureOf(write('0123456789abcdef0123456789abcdef', 'a note with "quotes" and ü'));
    const [token, patch] = instance.received();
    expect(token!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(token!.body);
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(form.get('client_id')).toBe(sandbox.platforms.servicenowCredentials.clientId);
    expect(form.get('client_secret')).toBe(sandbox.platforms.servicenowCredentials.clientSecret);
    expect(patch!.method).toBe('PATCH');
    expect(patch!.path).toBe('/api/now/table/change_request/0123456789abcdef0123456789abcdef');
    expect(patch!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(patch!.body)).toEqual({ work_notes: 'a note with "quotes" and ü' });
  });
});

describe('createServiceNowClient: new records, once per correlation id', () => {
  const fields = { short_description: 'Approve a private endpoint connection' };

  it('answers the record made by a create whose answer was lost, instead of making a second', async () => {
    const { createRecord } = client();
    sandbox.platforms.loseNextRecordAnswer();
    await failureOf(createRecord(fields, 'pla-0123456789abcdef0123456789abcd'));
    const again = await createRecord(fields, 'pla-0123456789abcdef0123456789abcd');

    const records = sandbox.platforms.records();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      sysId: again,
      fields: { ...fields, correlation_id: 'pla-0123456789abcdef0123456789abcd' },
    });
    // Another connection (or the same one found waiting again later) gets a record of its own.
    expect(await createRecord(fields, 'pla-ffffffffffffffffffffffffffffff')).not.toBe(again);
    expect(sandbox.platforms.records()).toHaveLength(2);
  });

  it('takes no record that does not show the correlation id (a table without the field lists every record)', async () => {
    const unrelated = sysId();
    const instance = await startHttpsStandIn(sandbox.tls, (received: Received, res) => {
      res.writeHead(received.method === 'POST' && received.path !== '/oauth_token.do' ? 201 : 200, {
        'content-type': 'application/json',
      });
      if (received.path === '/oauth_token.do')
        res.end(JSON.stringify({ access_token: 't', expires_in: 1799 }));
      else if (received.method === 'GET') res.end(JSON.stringify({ result: [{ sys_id: unrelated }] }));
      else res.end(JSON.stringify({ result: { sys_id: '0123456789abcdef0123456789abcdef' } }));
    });
    standIns.push(instance);
    const made = await client({ instanceUrl: instance.url('') }).createRecord(fields, 'pla-1');
    expect(made).toBe('0123456789abcdef0123456789abcdef');
    const [, look, post] = instance.received();
    expect(look!.path).toBe(
      '/api/now/table/change_request?sysparm_query=correlation_id%3Dpla-1&sysparm_fields=sys_id%2Ccorrelation_id&sysparm_limit=1',
    );
    expect(JSON.parse(post!.body)).toEqual({ ...fields, correlation_id: 'pla-1' });
  });
});
