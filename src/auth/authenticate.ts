import type { CallerIdentity, SourceName } from '../approval/model.js';
import type { RequestScope } from '../http/intake.js';
import { problem, problemResponse } from '../http/problem.js';
import type { ProblemKind } from '../http/problem.js';
import type { RouteRequest, RouteResponse } from '../http/route-types.js';
import { SecretNotFoundError, SecretsUnavailableError } from '../secrets/errors.js';
import type { SecretProvider } from '../secrets/secret-provider.js';
import { InvalidSecretError } from './auth-error.js';
import type { EntraVerifier } from './entra-token.js';
import type { ReplayMarks } from './replay-guard.js';
import { signedContentMark } from './replay-guard.js';
import { bearerChallenge } from './entra-token.js';
import { verifySlackSignature } from './slack-signature.js';
import { verifyStandardWebhook } from './standard-webhooks.js';
import { verifyTeamsSignature } from './teams-signature.js';

/**
 * Caller authentication per route, over the raw bytes and before anything is parsed. Only the caller's own
 * secret is read (from Key Vault, cached); a signature that matches no cached version triggers at most one
 * rate-limited refresh, so rotation works and forgeries cannot hammer the vault.
 */

/** The verified caller, and the marks that let the replay guard refuse the same message twice. */
export type AuthResult = { ok: true; caller: CallerIdentity; marks: ReplayMarks } | Refusal;

export interface AuthDeps {
  secrets?: SecretProvider;
  entra?: EntraVerifier;
  secretNames: Record<SourceName, string>;
  now: () => number;
}

type Verified = { ok: true; secretIndex: number } | { ok: false; reason: string; message: string };

/** Headers a scheme cannot do without: checked before any secret is read, so unsigned requests cost nothing. */
function missingHeaders(request: RouteRequest, names: readonly string[]): string[] {
  return names.filter((name) => !request.header(name)?.trim());
}

type Refusal = { ok: false; response: RouteResponse };

/** Every way authentication says no: a problem of the given kind, with the headers that go with it. */
function refuse(
  kind: ProblemKind,
  scope: RequestScope,
  detail: string,
  headers: Record<string, string> = {},
): Refusal {
  return { ok: false, response: problemResponse(problem(kind, scope.requestId, detail), headers) };
}

const unauthorized = (scope: RequestScope, detail: string, challenge?: string): Refusal =>
  refuse('unauthorized', scope, detail, challenge ? { 'www-authenticate': challenge } : {});

/** Verifies with the cached secret versions, then once more after a refresh if nothing matched. */
async function withSecret(
  deps: AuthDeps,
  source: SourceName,
  scope: RequestScope,
  verify: (secrets: readonly string[]) => Verified,
): Promise<{ ok: true; secretName: string } | Refusal> {
  const name = deps.secretNames[source];
  if (!deps.secrets) {
    scope.logger.error('auth.not-configured', { source, reason: 'KEY_VAULT_URL is not set' });
    return refuse(
      'notConfigured',
      scope,
      'Signature verification is not configured on this deployment (no Key Vault); ask the operator to set KEY_VAULT_URL.',
      { 'retry-after': '60' },
    );
  }
  try {
    let result = verify(await deps.secrets.getSecretValues(name));
    if (!result.ok && result.reason === 'no-matching-signature') {
      const fresh = await deps.secrets.refreshAfterMiss(name);
      if (fresh) result = verify(fresh);
    }
    if (result.ok) return { ok: true, secretName: name };
    scope.logger.warn('auth.signature-failed', { source, reason: result.reason });
    return unauthorized(scope, result.message);
  } catch (error) {
    if (error instanceof SecretsUnavailableError) {
      scope.logger.error('auth.secrets-unavailable', { source, secretName: name, code: error.code });
      return refuse(
        'dependencyUnavailable',
        scope,
        `The signing secret could not be read from Key Vault, so the request cannot be verified; nothing was done. Retry after ${error.retryAfterSeconds} s.`,
        { 'retry-after': String(error.retryAfterSeconds) },
      );
    }
    if (error instanceof SecretNotFoundError || error instanceof InvalidSecretError) {
      scope.logger.error('auth.secret-misconfigured', { source, secretName: name, error: error.message });
      return refuse(
        'notConfigured',
        scope,
        'The signing secret for this route is missing or invalid in Key Vault, so the request cannot be verified; nothing was done. Give the request id to the operator.',
        { 'retry-after': '60' },
      );
    }
    throw error;
  }
}

function entraCaller(
  source: SourceName,
  identity: {
    id: string;
    name?: string;
    tenantId: string;
    roles: readonly string[];
    groups: readonly string[];
  },
): CallerIdentity {
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

async function authenticateBearer(
  deps: AuthDeps,
  source: SourceName,
  request: RouteRequest,
  scope: RequestScope,
): Promise<AuthResult> {
  if (!deps.entra) {
    return unauthorized(
      scope,
      'Bearer tokens are not accepted here: Entra ID validation is not configured (ENTRA_TENANT_ID and ENTRA_AUDIENCE). Sign the request with the webhook secret instead.',
    );
  }
  const result = await deps.entra.verify(request.header('authorization'));
  if (result.ok) return { ok: true, caller: entraCaller(source, result.identity), marks: {} };
  scope.logger.warn('auth.token-refused', { source, status: result.status, reason: result.reason });
  if (result.status === 503) {
    const retry = String(result.retryAfterSeconds ?? 5);
    return refuse(
      'dependencyUnavailable',
      scope,
      `Entra ID signing keys could not be loaded, so the token cannot be checked; nothing was done. Retry after ${retry} s.`,
      { 'retry-after': retry },
    );
  }
  const challenge = bearerChallenge(result);
  if (result.status === 403) {
    return refuse('forbidden', scope, result.message, challenge ? { 'www-authenticate': challenge } : {});
  }
  return unauthorized(scope, result.message, challenge);
}

async function authenticateStandardWebhook(
  deps: AuthDeps,
  source: SourceName,
  request: RouteRequest,
  scope: RequestScope,
): Promise<AuthResult> {
  const missing = missingHeaders(request, ['webhook-id', 'webhook-timestamp', 'webhook-signature']);
  if (missing.length > 0) {
    return unauthorized(scope, `Standard Webhooks signature incomplete: missing ${missing.join(', ')}.`);
  }
  const headers = {
    webhookId: request.header('webhook-id'),
    webhookTimestamp: request.header('webhook-timestamp'),
    webhookSignature: request.header('webhook-signature'),
  };
  let webhookId: string | undefined;
  let timestamp = 0;
  const verified = await withSecret(deps, source, scope, (secrets) => {
    const r = verifyStandardWebhook({ body: request.body, ...headers, secrets, now: deps.now() });
    if (r.ok) {
      webhookId = r.webhookId;
      timestamp = r.timestamp;
    }
    return r;
  });
  if (!verified.ok) return verified;
  return {
    ok: true,
    caller: { source, scheme: 'standard-webhooks', id: verified.secretName, deliveryId: webhookId },
    marks: {
      signature: signedContentMark(source, [webhookId ?? '', String(timestamp), request.body]),
      ...(webhookId ? { delivery: { scope: `${source}:webhook-id`, id: webhookId, retries: true } } : {}),
    },
  };
}

/** Generic and ServiceNow routes: an Entra bearer token, or a Standard Webhooks signature. */
export async function authenticateWebhookOrBearer(
  deps: AuthDeps,
  source: 'generic' | 'servicenow',
  request: RouteRequest,
  scope: RequestScope,
): Promise<AuthResult> {
  const authorization = request.header('authorization');
  if (authorization !== undefined && /^bearer\s/i.test(authorization)) {
    return authenticateBearer(deps, source, request, scope);
  }
  if (request.header('webhook-signature') !== undefined || request.header('webhook-id') !== undefined) {
    return authenticateStandardWebhook(deps, source, request, scope);
  }
  return unauthorized(
    scope,
    'No credentials: send an Entra ID access token (Authorization: Bearer …) or a Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature).',
    'Bearer',
  );
}

/** Teams outgoing webhook: `Authorization: HMAC <base64>` over the raw body. */
export async function authenticateTeams(
  deps: AuthDeps,
  request: RouteRequest,
  scope: RequestScope,
): Promise<AuthResult> {
  if (missingHeaders(request, ['authorization']).length > 0) {
    return unauthorized(
      scope,
      'Missing Authorization header: Teams signs outgoing webhooks with "HMAC <signature>".',
    );
  }
  const verified = await withSecret(deps, 'teams', scope, (securityTokens) =>
    verifyTeamsSignature({
      body: request.body,
      authorization: request.header('authorization'),
      securityTokens,
    }),
  );
  if (!verified.ok) return verified;
  // Identity comes from the Activity (from.aadObjectId), which the signature covers; the route fills it in,
  // and adds the Activity id as the delivery mark.
  return {
    ok: true,
    caller: { source: 'teams', scheme: 'teams-hmac', id: verified.secretName },
    marks: { signature: signedContentMark('teams', [request.body]) },
  };
}

/** Slack: `v0=` HMAC of `v0:{timestamp}:{body}`, timestamp within five minutes. */
export async function authenticateSlack(
  deps: AuthDeps,
  request: RouteRequest,
  scope: RequestScope,
): Promise<AuthResult> {
  const missing = missingHeaders(request, ['x-slack-signature', 'x-slack-request-timestamp']);
  if (missing.length > 0) {
    return unauthorized(scope, `Slack signature incomplete: missing ${missing.join(', ')}.`);
  }
  const signature = request.header('x-slack-signature');
  const verified = await withSecret(deps, 'slack', scope, (signingSecrets) =>
    verifySlackSignature({
      body: request.body,
      signature,
      timestamp: request.header('x-slack-request-timestamp'),
      signingSecrets,
      now: deps.now(),
    }),
  );
  if (!verified.ok) return verified;
  // Slack sends no delivery id and does not retry slash commands: the signature is the mark.
  return {
    ok: true,
    caller: { source: 'slack', scheme: 'slack-v0', id: verified.secretName },
    marks: {
      signature: signedContentMark('slack', [
        request.header('x-slack-request-timestamp') ?? '',
        request.body,
      ]),
    },
  };
}
