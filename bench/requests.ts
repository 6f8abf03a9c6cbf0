import { standardWebhookHeaders } from '../src/auth/standard-webhooks.js';

/**
 * The requests the bench sends to the host, shaped and signed as test/e2e/approvals.test.ts sends them: JSON
 * bodies signed with the generic route's Standard Webhooks secret, a fresh delivery id every time (the app
 * refuses a replayed id).
 */

export const APPROVALS_PATH = '/api/approvals';
export const DRY_RUN_PATH = '/api/approvals?dryRun=true';
export const JSON_HEADERS: Record<string, string> = { 'content-type': 'application/json' };

/** The route's generic caller secret, in the sandbox Key Vault under the default name (README, Configuration). */
export const GENERIC_SECRET_NAME = 'webhook-secret';

export interface SignedPost {
  path: string;
  body: string;
  headers: Record<string, string>;
}

/** Signs one body with a new delivery id; the clock gives the timestamp (epoch ms). */
export type Signer = (body: string) => Record<string, string>;

export function createSigner(options: { secret: string; runId: string; now: () => number }): Signer {
  let sequence = 0;
  return (body) => ({
    ...JSON_HEADERS,
    ...standardWebhookHeaders({
      secret: options.secret,
      webhookId: `msg_bench_${options.runId}_${(sequence++).toString(36)}`,
      timestamp: Math.floor(options.now() / 1000),
      body,
    }),
  });
}

export function approvalBody(connectionId: string, decision: 'Approved' | 'Rejected' = 'Approved'): string {
  return JSON.stringify({ connectionId, decision });
}

export function signedPost(sign: Signer, path: string, body: string): SignedPost {
  return { path, body, headers: sign(body) };
}

/** Fails schema validation (bad enum, missing connectionId, unknown property): a 400 before any I/O. */
export const SCHEMA_VIOLATION_BODY = JSON.stringify({ decision: 'maybe', extra: true });

/** Cycles through ids forever; for requests that change nothing (dry runs). */
export function cycle(ids: readonly string[]): () => string {
  let i = 0;
  return () => ids[i++ % ids.length] ?? '';
}

/** Hands out each id once, then fails: for requests that must each hit a distinct connection. */
export function once(ids: readonly string[]): () => string {
  let i = 0;
  return () => {
    const id = ids[i++];
    if (id === undefined) throw new RangeError(`only ${ids.length} connection ids were reserved`);
    return id;
  };
}
