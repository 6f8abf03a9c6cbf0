import type { RouteRequest } from '../http/route-types.js';
import type { CallerIdentity, CallerSource } from '../model/approval.js';
import { Refusal } from '../model/refusal.js';
import { SecretNotFoundError, SecretsUnavailableError } from '../secrets/errors.js';
import type { SecretProvider } from '../secrets/secret-provider.js';
import { InvalidSecretError } from './auth-error.js';
import type { EntraFailure, EntraIdentity, EntraVerifier } from './entra-token.js';
import { bearerChallenge } from './entra-token.js';
import type { ReplayMarks } from './replay-guard.js';
import { verifySlackSignature } from './slack-signature.js';
import { verifyStandardWebhook } from './standard-webhooks.js';
import { verifyTeamsSignature } from './teams-signature.js';

/**
 * Caller authentication per route, over the raw bytes and before anything is parsed. Each function returns the
 * verified caller or throws a Refusal. Only the caller's own secret is read (from Key Vault, cached), and only
 * once the scheme's headers are present; a signature that matches no cached version triggers at most one
 * rate-limited refresh, so rotation works and forgeries cannot hammer the vault.
 */

/** The verified caller, and the marks that let the replay guard refuse the same message twice. */
export interface Authenticated {
  caller: CallerIdentity;
  marks: ReplayMarks;
}

export interface AuthDeps {
  secrets?: SecretProvider;
  entra?: EntraVerifier;
  secretNames: Record<CallerSource, string>;
  now: () => number;
}

type Verified =
  { ok: true } | { ok: false; reason: string; message: string; unusableSecrets?: readonly number[] };

const unauthenticated = (message: string, reason: string, challenge?: string): Refusal =>
  new Refusal('unauthenticated', message, challenge === undefined ? { reason } : { reason, challenge });

/** Headers a scheme cannot do without: checked before any secret is read, so unsigned requests cost nothing. */
function requireHeaders(request: RouteRequest, names: readonly string[], scheme: string): void {
  const missing = names.filter((name) => !request.header(name)?.trim());
  if (missing.length > 0) {
    throw unauthenticated(`${scheme} incomplete: missing ${missing.join(', ')}.`, 'missing-header');
  }
}

/** Verifies with the cached secret versions, then once more after a refresh if nothing matched. */
async function withSecret(
  deps: AuthDeps,
  source: CallerSource,
  verify: (secrets: readonly string[]) => Verified,
): Promise<string> {
  const name = deps.secretNames[source];
  if (!deps.secrets) {
    throw new Refusal(
      'not-configured',
      'Signature verification is not configured on this deployment (no Key Vault); ask the operator to set KEY_VAULT_URL.',
      { retryAfterSeconds: 60, reason: 'no-key-vault' },
    );
  }
  let result: Verified;
  try {
    result = verify(await deps.secrets.getSecretValues(name));
    if (!result.ok && result.reason === 'no-matching-signature') {
      const fresh = await deps.secrets.refreshAfterMiss(name);
      if (fresh) result = verify(fresh);
    }
  } catch (error) {
    throw secretRefusal(error);
  }
  if (!result.ok) {
    // The operator's log names stored versions that could not be used: a sender signing with one is refused.
    const unusable = result.unusableSecrets;
    throw new Refusal('unauthenticated', result.message, {
      reason: result.reason,
      ...(unusable && unusable.length > 0 ? { unusableSecrets: unusable } : {}),
    });
  }
  return name;
}

function secretRefusal(error: unknown): unknown {
  if (error instanceof SecretsUnavailableError) {
    return new Refusal(
      'unavailable',
      `The signing secret could not be read from Key Vault, so the request cannot be verified; nothing was done. Retry after ${error.retryAfterSeconds} s.`,
      {
        retryAfterSeconds: error.retryAfterSeconds,
        reason: `key-vault ${error.code ?? error.status ?? ''}`.trim(),
      },
    );
  }
  if (error instanceof SecretNotFoundError || error instanceof InvalidSecretError) {
    return new Refusal(
      'not-configured',
      'The signing secret for this route is missing or invalid in Key Vault, so the request cannot be verified; nothing was done. Give the request id to the operator.',
      // The log line says what is wrong with the stored secret (its position and size, never its value).
      {
        retryAfterSeconds: 60,
        reason:
          error instanceof InvalidSecretError
            ? `secret ${error.name}: ${error.message}`
            : `secret ${error.name}`,
      },
    );
  }
  return error;
}

function entraCaller(source: CallerSource, identity: EntraIdentity): CallerIdentity {
  const caller: CallerIdentity = {
    source,
    scheme: 'entra',
    id: identity.id,
    tenantId: identity.tenantId,
    roles: identity.roles,
    groups: identity.groups,
  };
  if (identity.name !== undefined) caller.name = identity.name;
  return caller;
}

function entraRefusal(failure: EntraFailure): Refusal {
  if (failure.status === 503) {
    const retry = failure.retryAfterSeconds ?? 5;
    return new Refusal(
      'unavailable',
      `Entra ID signing keys could not be loaded, so the token cannot be checked; nothing was done. Retry after ${retry} s.`,
      { retryAfterSeconds: retry, reason: failure.reason },
    );
  }
  const challenge = bearerChallenge(failure);
  const details =
    challenge === undefined ? { reason: failure.reason } : { reason: failure.reason, challenge };
  return new Refusal(failure.status === 403 ? 'forbidden' : 'unauthenticated', failure.message, details);
}

/** `POST /api/discovery/run`: an Entra bearer token carrying the app role `Discovery.Run`; nothing else. */
export const DISCOVERY_RUN_ROLE = 'Discovery.Run';

export async function authenticateDiscoveryRunner(
  deps: AuthDeps,
  request: RouteRequest,
): Promise<Authenticated> {
  if (!/^bearer\s/i.test(request.header('authorization') ?? '')) {
    throw unauthenticated(
      `No credentials: send an Entra ID access token (Authorization: Bearer …) whose caller holds the app role ${DISCOVERY_RUN_ROLE}.`,
      'no-credentials',
      'Bearer',
    );
  }
  return authenticateBearer(deps, 'generic', request, DISCOVERY_RUN_ROLE);
}

async function authenticateBearer(
  deps: AuthDeps,
  source: CallerSource,
  request: RouteRequest,
  requiredRole?: string,
): Promise<Authenticated> {
  if (!deps.entra) {
    // Discovery takes nothing but a token, so only the operator can help there.
    const instead =
      requiredRole === undefined
        ? 'Sign the request with the webhook secret instead.'
        : 'This route takes nothing else: ask the operator to set them.';
    throw unauthenticated(
      `Bearer tokens are not accepted here: Entra ID validation is not configured (ENTRA_TENANT_ID and ENTRA_AUDIENCE). ${instead}`,
      'entra-not-configured',
    );
  }
  const result = await deps.entra.verify(request.header('authorization'), requiredRole);
  if (!result.ok) throw entraRefusal(result);
  return { caller: entraCaller(source, result.identity), marks: {} };
}

async function authenticateStandardWebhook(
  deps: AuthDeps,
  source: CallerSource,
  request: RouteRequest,
): Promise<Authenticated> {
  requireHeaders(
    request,
    ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
    'Standard Webhooks signature',
  );
  const headers = {
    webhookId: request.header('webhook-id'),
    webhookTimestamp: request.header('webhook-timestamp'),
    webhookSignature: request.header('webhook-signature'),
  };
  let signed = { webhookId: '', timestamp: 0 };
  const secretName = await withSecret(deps, source, (secrets) => {
    const r = verifyStandardWebhook({ body: request.body, ...headers, secrets, now: deps.now() });
    if (r.ok) signed = { webhookId: r.webhookId, timestamp: r.timestamp };
    return r;
  });
  return {
    caller: { source, scheme: 'standard-webhooks', id: secretName, deliveryId: signed.webhookId },
    marks: {
      // One scope for both routes: the signature covers neither path nor query, and the two routes may share a
      // secret, so a message accepted on one (a dry run, say) must be a replay on the other. Delivery ids stay per
      // route: two senders may number their messages alike.
      signature: {
        scope: 'standard-webhooks',
        parts: [signed.webhookId, String(signed.timestamp), request.body],
      },
      delivery: { scope: `${source}:webhook-id`, id: signed.webhookId, retries: true },
    },
  };
}

/**
 * The scheme a 401 of the generic and ServiceNow routes names (RFC 9110: one the route takes): `Bearer` where
 * Entra ID is configured, else the Standard Webhooks signature, the only one left.
 */
export function webhookOrBearerScheme(deps: AuthDeps): string {
  return deps.entra ? 'Bearer' : 'Webhook-Signature';
}

/** Generic and ServiceNow routes: an Entra bearer token, or a Standard Webhooks signature. */
export async function authenticateWebhookOrBearer(
  deps: AuthDeps,
  source: 'generic' | 'servicenow',
  request: RouteRequest,
): Promise<Authenticated> {
  const authorization = request.header('authorization');
  if (authorization !== undefined && /^bearer\s/i.test(authorization)) {
    return authenticateBearer(deps, source, request);
  }
  if (request.header('webhook-signature') !== undefined || request.header('webhook-id') !== undefined) {
    return authenticateStandardWebhook(deps, source, request);
  }
  throw unauthenticated(
    deps.entra
      ? 'No credentials: send an Entra ID access token (Authorization: Bearer …) or a Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature).'
      : 'No credentials: sign the request with Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).',
    'no-credentials',
    webhookOrBearerScheme(deps),
  );
}

/**
 * The caller polling a `Location`: whoever started the work, generic or ServiceNow. A signature is tried against
 * the versions of both secrets as cached first, so a ServiceNow caller's polls do not force a refresh of the
 * generic secret; only a secret that missed is read again (a rotation, or a forgery), as rarely as a miss allows.
 * Anything but a signature that matched no secret (or found none configured) is refused as it stands. When
 * nothing matched, the answer is that no signature matched; `not-configured` only when neither secret exists.
 */
export async function authenticatePoller(deps: AuthDeps, request: RouteRequest): Promise<Authenticated> {
  const refusals: Partial<Record<'generic' | 'servicenow', Refusal>> = {};
  const attempt = async (
    using: AuthDeps,
    source: 'generic' | 'servicenow',
  ): Promise<Authenticated | undefined> => {
    try {
      return await authenticateWebhookOrBearer(using, source, request);
    } catch (error) {
      const otherSecret =
        error instanceof Refusal &&
        (error.details.reason === 'no-matching-signature' || error.kind === 'not-configured');
      if (!otherSecret) throw error;
      refusals[source] = error;
      return undefined;
    }
  };
  const cached: AuthDeps = { ...deps, secrets: cachedOnly(deps.secrets) };
  for (const source of ['generic', 'servicenow'] as const) {
    const caller = await attempt(cached, source);
    if (caller) return caller;
  }
  for (const source of ['generic', 'servicenow'] as const) {
    if (refusals[source]?.details.reason !== 'no-matching-signature') continue;
    const caller = await attempt(deps, source);
    if (caller) return caller;
  }
  const missed = [refusals.generic, refusals.servicenow].find((r) => r?.kind === 'unauthenticated');
  throw (
    missed ??
    refusals.servicenow ??
    refusals.generic ??
    unauthenticated('No signature matched.', 'no-credentials')
  );
}

/** The same secrets without the refresh after a miss. */
function cachedOnly(secrets: SecretProvider | undefined): SecretProvider | undefined {
  return (
    secrets && {
      getSecretValues: (name) => secrets.getSecretValues(name),
      refreshAfterMiss: async () => undefined,
    }
  );
}

/** Teams outgoing webhook: `Authorization: HMAC <base64>` over the raw body. */
export async function authenticateTeams(deps: AuthDeps, request: RouteRequest): Promise<Authenticated> {
  if (!request.header('authorization')?.trim()) {
    throw unauthenticated(
      'Missing Authorization header: Teams signs outgoing webhooks with "HMAC <signature>".',
      'missing-header',
    );
  }
  const secretName = await withSecret(deps, 'teams', (securityTokens) =>
    verifyTeamsSignature({
      body: request.body,
      authorization: request.header('authorization'),
      securityTokens,
    }),
  );
  // Identity comes from the Activity (from.aadObjectId), which the signature covers; the source fills it in,
  // and adds the Activity id as the delivery mark.
  return {
    caller: { source: 'teams', scheme: 'teams-hmac', id: secretName },
    marks: { signature: { scope: 'teams', parts: [request.body] } },
  };
}

/** Slack: `v0=` HMAC of `v0:{timestamp}:{body}`, timestamp within five minutes. */
export async function authenticateSlack(deps: AuthDeps, request: RouteRequest): Promise<Authenticated> {
  requireHeaders(request, ['x-slack-signature', 'x-slack-request-timestamp'], 'Slack signature');
  const timestamp = request.header('x-slack-request-timestamp') ?? '';
  const secretName = await withSecret(deps, 'slack', (signingSecrets) =>
    verifySlackSignature({
      body: request.body,
      signature: request.header('x-slack-signature'),
      timestamp,
      signingSecrets,
      now: deps.now(),
    }),
  );
  // Slack sends no delivery id and does not retry slash commands: the signature is the mark.
  return {
    caller: { source: 'slack', scheme: 'slack-v0', id: secretName },
    marks: { signature: { scope: 'slack', parts: [timestamp, request.body] } },
  };
}
