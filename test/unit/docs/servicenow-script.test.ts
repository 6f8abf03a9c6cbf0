import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { verifyStandardWebhook } from '../../../src/auth/standard-webhooks.js';
import { validateServiceNowChange } from '../../../src/generated/source-validators.js';
import { validatorOf } from '../../../src/sources/schema-validator.js';
import type { ServiceNowChange } from '../../../src/sources/servicenow.js';

/**
 * Runs the script include printed in docs/servicenow.md against stand-ins for the Glide APIs it calls, so the
 * page cannot drift from what the route accepts: the body must pass the route's schema and the signature must
 * pass the route's verifier.
 */

const SECRET = 'whsec_' + Buffer.alloc(32, 9).toString('base64');
const NOW_MS = 1_795_627_645_000;
const CONNECTION =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/pe1';

function scriptInclude(): string {
  const page = readFileSync(new URL('../../../docs/servicenow.md', import.meta.url), 'utf8');
  const block = /```javascript\n( *var PrivateLinkApprover = Class\.create\(\);[\s\S]*?)\n *```/.exec(
    page,
  )?.[1];
  if (block === undefined) throw new Error('docs/servicenow.md has no PrivateLinkApprover script include');
  return block.replace(/^ {3}/gm, '');
}

interface Sent {
  headers: Record<string, string>;
  body: string;
}

interface Reply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

interface Harness {
  sent: Sent[];
  notes: string[];
  sleeps: number[];
  send(change: Record<string, string>, options?: Record<string, unknown>): { status: number; note: string };
}

const field = (value: string) => ({ toString: () => value });

function harness(replies: Reply[], properties: Record<string, string> = {}): Harness {
  const sent: Sent[] = [];
  const notes: string[] = [];
  const sleeps: number[] = [];
  const props: Record<string, string> = {
    'private_link_approver.webhook_secret': SECRET,
    'private_link_approver.function_key': 'function-key',
    'glide.servlet.uri': 'https://dev12345.service-now.com/',
    ...properties,
  };
  let guid = 0;

  class GlideRecord {
    readonly #table: string;
    #rows: Record<string, unknown>[] = [];
    [key: string]: unknown;
    constructor(table: string) {
      this.#table = table;
    }
    addQuery(): void {}
    orderByDesc(): void {}
    setLimit(): void {}
    query(): void {
      if (this.#table === 'sysapproval_approver') {
        this.#rows = [{ approver: { email: field('bob@contoso.com'), user_name: field('bob') } }];
      }
    }
    next(): boolean {
      const row = this.#rows.shift();
      if (row) Object.assign(this, row);
      return row !== undefined;
    }
    get(): boolean {
      return this.#table === 'change_request';
    }
    update(): void {
      notes.push(String(this.work_notes));
    }
  }

  class RESTMessageV2 {
    readonly #headers: Record<string, string> = {};
    #body = '';
    setRequestHeader(name: string, value: string): void {
      this.#headers[name.toLowerCase()] = value;
    }
    setRequestBody(body: string): void {
      this.#body = body;
    }
    setHttpTimeout(): void {}
    execute() {
      sent.push({ headers: { ...this.#headers }, body: this.#body });
      const reply = replies.shift();
      if (!reply) throw new Error('no scripted reply left');
      return {
        getStatusCode: () => reply.status,
        getBody: () => reply.body,
        getHeader: (name: string) => reply.headers?.[name.toLowerCase()] ?? null,
        haveError: () => reply.status >= 400,
        getErrorMessage: () => `HTTP ${reply.status}`,
      };
    }
  }

  const context: Record<string, unknown> = {
    Class: {
      create: () =>
        function (this: { initialize?: () => void }) {
          this.initialize?.();
        },
    },
    gs: {
      getProperty: (name: string, fallback?: string) => props[name] ?? fallback,
      sleep: (ms: number) => sleeps.push(ms),
      generateGUID: () => (++guid).toString(16).padStart(32, '0'),
      getUser: () => ({ getEmail: () => 'admin@contoso.com' }),
      getUserName: () => 'admin',
    },
    GlideRecord,
    GlideDateTime: class {
      // The instance's clock moves on by what the script slept.
      getNumericValue(): number {
        return NOW_MS + sleeps.reduce((sum, ms) => sum + ms, 0);
      }
    },
    sn_ws: { RESTMessageV2 },
    // As ServiceNow documents it: a base64 key, the algorithm name, the data; the MAC comes back in base64.
    GlideCertificateEncryption: class {
      generateMac(key: string, algorithm: string, data: string): string {
        if (algorithm !== 'HmacSHA256') throw new Error(`unexpected algorithm ${algorithm}`);
        return createHmac('sha256', Buffer.from(key, 'base64')).update(data, 'utf8').digest('base64');
      }
    },
  };
  runInNewContext(`${scriptInclude()}\nthis.PrivateLinkApprover = PrivateLinkApprover;`, context);
  const Approver = context.PrivateLinkApprover as new () => {
    send(change: unknown, options?: unknown): { status: number; note: string };
  };

  return {
    sent,
    notes,
    sleeps,
    send(values, options) {
      const change = {
        getUniqueValue: () => values.sys_id,
        getValue: (name: string) => values[name] ?? null,
        requested_by: { email: field(values.requester ?? ''), user_name: field('') },
      };
      return new Approver().send(change, options);
    },
  };
}

const change = {
  sys_id: 'a'.repeat(32),
  number: 'CHG0031234',
  state: '-1',
  approval: 'approved',
  u_private_endpoint_connection_id: CONNECTION,
  requester: 'alice@contoso.com',
};

const ok = (note: string): Reply => ({
  status: 200,
  body: JSON.stringify({ outcome: 'approved', work_note: note }),
});

function verify(request: Sent) {
  return verifyStandardWebhook({
    body: new TextEncoder().encode(request.body),
    webhookId: request.headers['webhook-id'],
    webhookTimestamp: request.headers['webhook-timestamp'],
    webhookSignature: request.headers['webhook-signature'],
    secrets: [SECRET],
    now: NOW_MS,
  });
}

describe('the ServiceNow script include in docs/servicenow.md', () => {
  const validate = validatorOf<ServiceNowChange>(validateServiceNowChange);

  it('sends a body the route accepts, signed the way the route verifies, and writes the work note', () => {
    const h = harness([ok('private-link-approver: done.')]);
    const result = h.send(change);

    expect(h.sent).toHaveLength(1);
    const [request] = h.sent;
    if (!request) throw new Error('nothing sent');
    expect(verify(request)).toMatchObject({ ok: true });
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-functions-key']).toBe('function-key');
    const body: unknown = JSON.parse(request.body);
    expect(validate(body)).toMatchObject({ ok: true });
    expect(body).toEqual({
      sys_id: change.sys_id,
      number: 'CHG0031234',
      state: 'implement',
      approval: 'approved',
      approved_by: 'bob@contoso.com',
      u_private_endpoint_connection_id: CONNECTION,
      reason: 'CHG0031234 approved in ServiceNow',
      instance_url: 'https://dev12345.service-now.com/',
      requested_by: 'alice@contoso.com',
    });
    expect(result.note).toBe('private-link-approver: done.');
    expect(h.notes).toEqual(['private-link-approver: done.']);
  });

  it('escapes non-ASCII characters, so the signed text and the sent bytes cannot differ', () => {
    const h = harness([ok('done')]);
    h.send({ ...change, number: 'CHG-Über-€' });
    const [request] = h.sent;
    if (!request) throw new Error('nothing sent');
    expect(request.body).toMatch(/^[\x20-\x7e]*$/);
    expect((JSON.parse(request.body) as { number: string }).number).toBe('CHG-Über-€');
    expect(verify(request)).toMatchObject({ ok: true });
  });

  it('retries a 503 after Retry-After with the same webhook-id and body, signed anew', () => {
    const unavailable: Reply = {
      status: 503,
      headers: { 'retry-after': '2' },
      body: JSON.stringify({
        type: 'urn:private-link-approver:problem:dependency-unavailable',
        work_note: 'later',
      }),
    };
    const h = harness([unavailable, ok('done')]);
    const result = h.send(change, { maxAttempts: 3 });

    expect(h.sent).toHaveLength(2);
    const [first, second] = h.sent;
    if (!first || !second) throw new Error('expected two attempts');
    expect(second.body).toBe(first.body);
    // Standard Webhooks: the id stays the same over a delivery's retries; the timestamp and signature do not.
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(second.headers['webhook-timestamp']).not.toBe(first.headers['webhook-timestamp']);
    expect(second.headers['webhook-signature']).not.toBe(first.headers['webhook-signature']);
    expect(verify(second)).toMatchObject({ ok: true });
    expect(h.sleeps).toEqual([2000]);
    expect(result.note).toBe('done');
  });

  it('does not retry a decision, and writes its own note when the answer has no work_note', () => {
    const refused: Reply = {
      status: 401,
      body: JSON.stringify({ detail: 'No credentials.', instance: 'r-1' }),
    };
    const h = harness([refused], {});
    const result = h.send(change, { maxAttempts: 3 });

    expect(h.sent).toHaveLength(1);
    expect(result.note).toBe('private-link-approver: not applied. HTTP 401: No credentials. Request id r-1.');
  });

  it('sends no signature headers when no secret is configured (the Entra variant)', () => {
    const h = harness([ok('done')], { 'private_link_approver.webhook_secret': '' });
    h.send(change);
    const [request] = h.sent;
    expect(request?.headers['webhook-signature']).toBeUndefined();
    expect(request?.headers['webhook-id']).toBeUndefined();
  });

  it('sends Idempotency-Key only when asked to force a fresh evaluation', () => {
    const h = harness([ok('a'), ok('b')]);
    h.send(change);
    h.send(change, { idempotencyKey: `${change.sys_id}:approved:2` });
    expect(h.sent[0]?.headers['idempotency-key']).toBeUndefined();
    expect(h.sent[1]?.headers['idempotency-key']).toBe(`${change.sys_id}:approved:2`);
  });
});
