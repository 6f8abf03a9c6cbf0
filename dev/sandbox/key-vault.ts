import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listenOnLoopback, sendJson } from './http-util.js';
import { SANDBOX_TENANT_ID } from './tokens.js';

/**
 * A local stand-in for the Azure Key Vault secrets data plane, serving over HTTPS on 127.0.0.1 the requests
 * `@azure/keyvault-secrets` 4.11 sends (paths, query and JSON shapes from its generated client):
 *
 *   GET   /secrets/{name}/versions?api-version=…[&maxresults=n]   → { value: SecretItem[], nextLink }
 *   GET   /secrets/{name}[/]?api-version=…                         → SecretBundle of the current version
 *   GET   /secrets/{name}/{version}?api-version=…                  → SecretBundle
 *   PUT   /secrets/{name}?api-version=…                            → SecretBundle (a new version)
 *   PATCH /secrets/{name}/{version}?api-version=…                  → SecretBundle without the value
 *
 * Behaviour copied from the service because client code depends on it:
 * - Challenge-based auth: a request without a bearer token gets 401 and
 *   `WWW-Authenticate: Bearer authorization="<authority>/<tenant>", resource="https://vault.azure.net"`, which
 *   the SDK's keyVaultAuthenticationPolicy parses (it reads `authorization`/`authorization_url` and
 *   `resource`/`scope`) to ask its credential for a `https://vault.azure.net/.default` token.
 * - Timestamps are Unix seconds; versions are 32 hex characters; names are case-insensitive.
 * - `get` on a disabled version is 403 `Forbidden` (inner `SecretDisabled`); `get` ignores nbf/exp (the service
 *   does not enforce them for secrets — the client must), and the unversioned `get` answers the most recently
 *   created version, so it is 403 too when that version is disabled.
 * - The versions list pages with an opaque `$skiptoken` in `nextLink` (null on the last page), in no useful
 *   order (here: by version id, i.e. random), so clients must sort by `created` themselves.
 * - Listing versions of a secret that does not exist answers an empty page, not 404.
 */

export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';

/** api-versions the SDKs in use send; anything else is refused as the service refuses unknown versions. */
export const SUPPORTED_KEY_VAULT_API_VERSIONS: readonly string[] = [
  '7.0',
  '7.1',
  '7.2',
  '7.3',
  '7.4',
  '7.5',
  '7.6',
  '2025-07-01',
];

export interface KeyVaultStandInOptions {
  tls: { key: string; cert: string };
  /** Checks a bearer token against the accepted audiences (the sandbox's token service). */
  verifyToken: (token: string, audiences: readonly string[]) => { ok: boolean } | Promise<{ ok: boolean }>;
  /** Authority named in the challenge, e.g. https://login.microsoftonline.com; the tenant id is appended. */
  authorizationUri: string;
  /** Tenant named in the challenge; the sandbox tenant when omitted. */
  tenantId?: string;
  port?: number;
  /** Items per page of the versions list; small by default so clients must follow nextLink. */
  pageSize?: number;
  /** Clock for `created`/`updated` (ms since the epoch). */
  now?: () => number;
}

export interface SecretVersionOptions {
  enabled?: boolean;
  notBefore?: Date;
  expiresOn?: Date;
  contentType?: string;
}

export interface SecretVersionUpdate {
  enabled?: boolean;
  /** `null` clears the attribute. */
  notBefore?: Date | null;
  expiresOn?: Date | null;
}

export interface KeyVaultCounts {
  /** Authenticated GETs of a single secret (versioned or not), per secret name as stored. */
  get: Record<string, number>;
  /** Authenticated requests for a page of the versions list, per secret name as stored. */
  list: Record<string, number>;
  /** Every HTTP request received, challenges and injected faults included. */
  total: number;
}

export interface KeyVaultFaults {
  /** While true, every request fails before authentication, as `unavailableMode` says. */
  unavailable: boolean;
  /**
   * `status`: 503 ServiceUnavailable; `throttle`: 429 with `Retry-After: 30`; `drop`: destroy the connection;
   * `hang`: accept and never answer.
   */
  unavailableMode: 'status' | 'throttle' | 'drop' | 'hang';
  /** While true, authenticated requests get 403 ForbiddenByRbac (the identity lacks a role assignment). */
  forbidden: boolean;
}

export interface KeyVaultStandIn {
  /** https://127.0.0.1:<port> — what SecretClient takes. */
  vaultUrl: string;
  port: number;
  /** Adds a version (creating the secret if needed) and returns its version id. */
  setSecret(name: string, value: string, options?: SecretVersionOptions): string;
  updateVersion(name: string, version: string, update: SecretVersionUpdate): void;
  counts(): KeyVaultCounts;
  readonly faults: KeyVaultFaults;
  /** Forgets every secret, count and fault. */
  reset(): void;
  close(): Promise<void>;
}

export class KeyVaultStandInError extends Error {
  override readonly name = 'KeyVaultStandInError';
}

interface StoredVersion {
  version: string;
  value: string;
  enabled: boolean;
  notBefore?: number;
  expiresOn?: number;
  created: number;
  updated: number;
  contentType?: string;
}

interface StoredSecret {
  name: string;
  versions: StoredVersion[];
}

const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const VERSION_ID = /^[0-9a-fA-F]{32}$/;
const MAX_BODY_BYTES = 64 * 1024;

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message);
  }
}

const toSeconds = (ms: number): number => Math.floor(ms / 1000);

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, body, {
    'cache-control': 'no-cache',
    'x-ms-request-id': randomUUID(),
    'x-ms-keyvault-service-version': '1.9.0.0',
    'x-ms-keyvault-region': 'sandbox',
    ...headers,
  });
}

function sendProblem(res: ServerResponse, problem: HttpProblem, headers: Record<string, string> = {}): void {
  const error: Record<string, unknown> = { code: problem.code, message: problem.message };
  if (problem.innerCode !== undefined) error.innererror = { code: problem.innerCode };
  send(res, problem.status, { error }, headers);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpProblem(413, 'BadParameter', 'The request body is too large.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalSeconds(attributes: Record<string, unknown>, key: string): number | null | undefined {
  const v = attributes[key];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new HttpProblem(400, 'BadParameter', `Property '${key}' must be a Unix time in seconds.`);
  }
  return v;
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
  return match?.[1];
}

export async function startKeyVaultStandIn(options: KeyVaultStandInOptions): Promise<KeyVaultStandIn> {
  const now = options.now ?? ((): number => Date.now());
  const pageSize = options.pageSize ?? 2;
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new KeyVaultStandInError('pageSize must be a positive integer');
  const authority = `${options.authorizationUri.replace(/\/+$/, '')}/${options.tenantId ?? SANDBOX_TENANT_ID}`;
  const challenge = `Bearer authorization="${authority}", resource="${KEY_VAULT_RESOURCE}"`;
  // Tokens minted for the resource, with or without the trailing slash, are both accepted by the service.
  const audiences = [KEY_VAULT_RESOURCE, `${KEY_VAULT_RESOURCE}/`] as const;

  const secrets = new Map<string, StoredSecret>();
  let getCounts: Record<string, number> = {};
  let listCounts: Record<string, number> = {};
  let total = 0;
  const faults: KeyVaultFaults = { unavailable: false, unavailableMode: 'status', forbidden: false };
  const sockets = new Set<Socket>();
  let vaultUrl = '';

  const lookup = (name: string): StoredSecret | undefined => secrets.get(name.toLowerCase());

  const secretId = (secret: StoredSecret, version?: string): string =>
    `${vaultUrl}/secrets/${secret.name}${version === undefined ? '' : `/${version}`}`;

  const attributesOf = (v: StoredVersion): Record<string, unknown> => ({
    enabled: v.enabled,
    ...(v.notBefore === undefined ? {} : { nbf: v.notBefore }),
    ...(v.expiresOn === undefined ? {} : { exp: v.expiresOn }),
    created: v.created,
    updated: v.updated,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
  });

  const bundle = (secret: StoredSecret, v: StoredVersion, withValue: boolean): Record<string, unknown> => ({
    ...(withValue ? { value: v.value } : {}),
    ...(v.contentType === undefined ? {} : { contentType: v.contentType }),
    id: secretId(secret, v.version),
    attributes: attributesOf(v),
    tags: {},
  });

  const newestFirst = (secret: StoredSecret): StoredVersion[] =>
    // Insertion order breaks ties between versions created within the same second.
    secret.versions
      .map((v, index) => ({ v, index }))
      .sort((a, b) => b.v.created - a.v.created || b.index - a.index)
      .map(({ v }) => v);

  const notFound = (name: string): HttpProblem =>
    new HttpProblem(
      404,
      'SecretNotFound',
      `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    );

  const versionNotFound = (name: string, version: string): HttpProblem =>
    new HttpProblem(
      404,
      'SecretNotFound',
      `A secret with (name/id) ${name}/${version} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    );

  const addVersion = (name: string, value: string, opts: SecretVersionOptions): string => {
    if (!SECRET_NAME.test(name)) throw new KeyVaultStandInError(`invalid secret name '${name}'`);
    let secret = lookup(name);
    if (secret === undefined) {
      secret = { name, versions: [] };
      secrets.set(name.toLowerCase(), secret);
    }
    const at = toSeconds(now());
    const version = randomBytes(16).toString('hex');
    secret.versions.push({
      version,
      value,
      enabled: opts.enabled ?? true,
      notBefore: opts.notBefore === undefined ? undefined : toSeconds(opts.notBefore.getTime()),
      expiresOn: opts.expiresOn === undefined ? undefined : toSeconds(opts.expiresOn.getTime()),
      created: at,
      updated: at,
      contentType: opts.contentType,
    });
    return version;
  };

  const findVersion = (name: string, version: string): { secret: StoredSecret; v: StoredVersion } => {
    const secret = lookup(name);
    const v = secret?.versions.find((candidate) => candidate.version.toLowerCase() === version.toLowerCase());
    if (secret === undefined || v === undefined) throw versionNotFound(name, version);
    return { secret, v };
  };

  const countGet = (secret: StoredSecret | undefined, name: string): void => {
    const key = secret?.name ?? name;
    getCounts[key] = (getCounts[key] ?? 0) + 1;
  };

  const listVersions = (name: string, url: URL, apiVersion: string): unknown => {
    const secret = lookup(name);
    const key = secret?.name ?? name;
    listCounts[key] = (listCounts[key] ?? 0) + 1;
    const maxResults = url.searchParams.get('maxresults');
    let size = pageSize;
    if (maxResults !== null) {
      const n = Number(maxResults);
      if (!Number.isInteger(n) || n < 1 || n > 25) {
        throw new HttpProblem(400, 'BadParameter', 'maxresults must be an integer between 1 and 25.');
      }
      size = Math.min(n, pageSize);
    }
    const skipToken = url.searchParams.get('$skiptoken');
    let offset = 0;
    if (skipToken !== null) {
      const decoded = Number(Buffer.from(skipToken, 'base64url').toString('utf8'));
      if (!Number.isInteger(decoded) || decoded < 0)
        throw new HttpProblem(400, 'BadParameter', 'Invalid $skiptoken.');
      offset = decoded;
    }
    const ordered =
      secret === undefined ? [] : [...secret.versions].sort((a, b) => a.version.localeCompare(b.version));
    const page = ordered.slice(offset, offset + size);
    let nextLink: string | null = null;
    if (secret !== undefined && offset + size < ordered.length) {
      const next = new URL(`${secretId(secret)}/versions`);
      next.searchParams.set('api-version', apiVersion);
      next.searchParams.set('$skiptoken', Buffer.from(String(offset + size), 'utf8').toString('base64url'));
      next.searchParams.set('maxresults', String(size));
      nextLink = next.toString();
    }
    return { value: secret === undefined ? [] : page.map((v) => bundle(secret, v, false)), nextLink };
  };

  const disabled = (): HttpProblem =>
    new HttpProblem(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');

  const getSecret = (name: string, version: string | undefined): unknown => {
    countGet(lookup(name), name);
    if (version === undefined) {
      const secret = lookup(name);
      const latest = secret === undefined ? undefined : newestFirst(secret)[0];
      if (secret === undefined || latest === undefined) throw notFound(name);
      if (!latest.enabled) throw disabled();
      return bundle(secret, latest, true);
    }
    const { secret, v } = findVersion(name, version);
    if (!v.enabled) throw disabled();
    return bundle(secret, v, true);
  };

  const parseJson = (text: string): Record<string, unknown> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      throw new HttpProblem(400, 'BadParameter', 'The request body is not valid JSON.');
    }
    if (!isRecord(parsed))
      throw new HttpProblem(400, 'BadParameter', 'The request body must be a JSON object.');
    return parsed;
  };

  const putSecret = (name: string, body: Record<string, unknown>): unknown => {
    if (typeof body.value !== 'string')
      throw new HttpProblem(400, 'BadParameter', "Property 'value' is required.");
    const attributes = isRecord(body.attributes) ? body.attributes : {};
    const nbf = optionalSeconds(attributes, 'nbf');
    const exp = optionalSeconds(attributes, 'exp');
    const version = addVersion(name, body.value, {
      enabled: typeof attributes.enabled === 'boolean' ? attributes.enabled : undefined,
      notBefore: typeof nbf === 'number' ? new Date(nbf * 1000) : undefined,
      expiresOn: typeof exp === 'number' ? new Date(exp * 1000) : undefined,
      contentType: typeof body.contentType === 'string' ? body.contentType : undefined,
    });
    const { secret, v } = findVersion(name, version);
    return bundle(secret, v, true);
  };

  const patchVersion = (name: string, version: string, body: Record<string, unknown>): unknown => {
    const { secret, v } = findVersion(name, version);
    const attributes = isRecord(body.attributes) ? body.attributes : {};
    const nbf = optionalSeconds(attributes, 'nbf');
    const exp = optionalSeconds(attributes, 'exp');
    if (typeof attributes.enabled === 'boolean') v.enabled = attributes.enabled;
    if (nbf !== undefined) v.notBefore = nbf ?? undefined;
    if (exp !== undefined) v.expiresOn = exp ?? undefined;
    if (typeof body.contentType === 'string') v.contentType = body.contentType;
    v.updated = toSeconds(now());
    return bundle(secret, v, false);
  };

  const route = async (req: IncomingMessage, url: URL, apiVersion: string): Promise<unknown> => {
    const segments = url.pathname.split('/').slice(1);
    // Unversioned get: the SDK sends `/secrets/{name}/` (empty version) and other tools `/secrets/{name}`.
    if (segments.length === 3 && segments[2] === '') segments.pop();
    const [collection, rawName, second] = segments;
    if (collection !== 'secrets' || rawName === undefined || segments.length > 3) {
      throw new HttpProblem(404, 'NotFound', `The resource '${url.pathname}' was not found.`);
    }
    const name = decodeURIComponent(rawName);
    if (!SECRET_NAME.test(name)) {
      throw new HttpProblem(
        400,
        'BadParameter',
        'The request URI contains an invalid name: secret names may only contain alphanumeric characters and dashes.',
      );
    }
    const method = req.method ?? 'GET';
    if (second === undefined) {
      if (method === 'GET') return getSecret(name, undefined);
      if (method === 'PUT') return putSecret(name, parseJson(await readBody(req)));
    } else if (second === 'versions') {
      if (method === 'GET') return listVersions(name, url, apiVersion);
    } else {
      if (!VERSION_ID.test(second)) throw versionNotFound(name, second);
      if (method === 'GET') return getSecret(name, second);
      if (method === 'PATCH') return patchVersion(name, second, parseJson(await readBody(req)));
    }
    throw new HttpProblem(
      405,
      'MethodNotAllowed',
      `The HTTP method '${method}' is not supported on this resource.`,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    total += 1;
    if (faults.unavailable) {
      if (faults.unavailableMode === 'drop') {
        req.socket.destroy();
        return;
      }
      if (faults.unavailableMode === 'hang') return;
      req.resume();
      if (faults.unavailableMode === 'throttle') {
        res.setHeader('retry-after', '30');
        sendProblem(res, new HttpProblem(429, 'Throttled', 'Too many requests. (injected by the sandbox)'));
        return;
      }
      sendProblem(
        res,
        new HttpProblem(
          503,
          'ServiceUnavailable',
          'The service is temporarily unavailable. (injected by the sandbox)',
        ),
      );
      return;
    }
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const token = bearerToken(req);
    // Challenge first, as the service does: the SDK's first request deliberately carries no token.
    if (token === undefined) {
      req.resume();
      sendProblem(
        res,
        new HttpProblem(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'),
        {
          'www-authenticate': challenge,
        },
      );
      return;
    }
    const verdict = await options.verifyToken(token, audiences);
    if (!verdict.ok) {
      req.resume();
      sendProblem(
        res,
        new HttpProblem(401, 'Unauthorized', 'AKV10032: Invalid issuer, audience or signature.'),
        {
          'www-authenticate': challenge,
        },
      );
      return;
    }
    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion === null || !SUPPORTED_KEY_VAULT_API_VERSIONS.includes(apiVersion)) {
      req.resume();
      sendProblem(
        res,
        new HttpProblem(
          400,
          'BadParameter',
          apiVersion === null
            ? 'The api-version query parameter is missing.'
            : `The specified version (${apiVersion}) is not recognized. Consider using the latest supported version (7.6).`,
        ),
      );
      return;
    }
    if (faults.forbidden) {
      req.resume();
      sendProblem(
        res,
        new HttpProblem(
          403,
          'Forbidden',
          'Caller is not authorized to perform action on resource. (injected by the sandbox)',
          'ForbiddenByRbac',
        ),
      );
      return;
    }
    const body = await route(req, url, apiVersion);
    send(res, 200, body);
  };

  const server = createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      req.resume();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const problem =
        error instanceof HttpProblem
          ? error
          : new HttpProblem(
              500,
              'InternalServerError',
              'The sandbox Key Vault failed to handle the request.',
            );
      sendProblem(res, problem);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // TLS handshake failures (a client that does not trust the sandbox CA) are the client's problem to report.
  server.on('tlsClientError', () => undefined);

  const port = await listenOnLoopback(server, options.port);
  vaultUrl = `https://127.0.0.1:${port}`;

  return {
    vaultUrl,
    port,
    setSecret: (name, value, opts = {}) => addVersion(name, value, opts),
    updateVersion(name, version, update) {
      const v = lookup(name)?.versions.find(
        (candidate) => candidate.version.toLowerCase() === version.toLowerCase(),
      );
      if (v === undefined) throw new KeyVaultStandInError(`no version '${version}' of secret '${name}'`);
      if (update.enabled !== undefined) v.enabled = update.enabled;
      if (update.notBefore !== undefined) {
        v.notBefore = update.notBefore === null ? undefined : toSeconds(update.notBefore.getTime());
      }
      if (update.expiresOn !== undefined) {
        v.expiresOn = update.expiresOn === null ? undefined : toSeconds(update.expiresOn.getTime());
      }
      v.updated = toSeconds(now());
    },
    counts: () => ({ get: { ...getCounts }, list: { ...listCounts }, total }),
    faults,
    reset() {
      secrets.clear();
      getCounts = {};
      listCounts = {};
      total = 0;
      faults.unavailable = false;
      faults.unavailableMode = 'status';
      faults.forbidden = false;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive and hung connections would otherwise hold close() open.
        for (const socket of sockets) socket.destroy();
      }),
  };
}
