import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { AKS } from '../../src/model/provider-registry.js';
import type { ArmStore, ConnectionAddress, Lookup, ResourceAddress, StoredConnection } from './arm-store.js';
import { connectionKey, parseResourcePath } from './arm-store.js';
import type { OperationBook } from './operations.js';
import type { ResourceGraphStandIn } from './resource-graph.js';
import { RESOURCE_GRAPH_API_VERSION, RESOURCE_GRAPH_PATH } from '../../src/arm/resource-graph.js';
import type { FaultKind, FaultMatcher, FaultRule } from './faults.js';
import { FaultRuleError, defaultErrorCode, defaultErrorMessage, parseFaultRules } from './faults.js';
import { listenOnLoopback } from './http-util.js';
import type { PlatformStandIns } from './platforms.js';
import type { PeopleCallbacks } from './callbacks.js';
import { peopleAdmin } from './callbacks.js';
import type { VerifyResult } from './tokens.js';

/**
 * The sandbox Resource Manager: HTTPS on loopback, serving the AKS private endpoint connection list / get / put
 * operations of api-version 2025-01-01 with Resource Manager's own checks in its own order (token, api-version,
 * subscription, resource group, parent resource, resource) and its CloudError bodies. Admin operations for tests
 * live under /_sandbox/ on the same server.
 */

/** The api-version of the AKS row, which the sandbox's oldest tests and the spec examples use. */
export const ARM_API_VERSION = AKS.apiVersion;

/** Audiences Resource Manager accepts for its tokens. */
export const ARM_AUDIENCES: readonly string[] = [
  'https://management.azure.com',
  'https://management.azure.com/',
  'https://management.core.windows.net/',
];

const KNOWN_STATUSES = ['Pending', 'Approved', 'Rejected', 'Disconnected'] as const;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface RecordedRequest {
  method: string;
  /** Path as received (still percent-encoded), without the query. */
  path: string;
  query: Record<string, string>;
  /** Lowercased names; the authorization value is replaced by '[redacted]'. */
  headers: Record<string, string>;
  body?: string;
  /** Status sent; 0 when the socket was dropped by a fault. */
  status: number;
  /** x-ms-request-id sent back (absent for a dropped request). */
  requestId?: string;
  /** The fault that fired for this request, if any. */
  fault?: FaultKind;
  /** When the request arrived, ms since the epoch (sandbox clock). */
  receivedAt: number;
}

export interface ArmCounts {
  /** Every non-admin request, whatever its outcome. */
  total: number;
  /** GET of one connection. */
  GET: number;
  PUT: number;
  /** GET of a cluster's connection list. */
  LIST: number;
  /** GET of a long-running operation's status or result URL. */
  POLL: number;
  /** Keyed by `connectionKey` (canonical id, lowercased). `peak`: most of its requests in flight at once. */
  byConnection: Record<string, { GET: number; PUT: number; peak: number }>;
}

export interface SandboxCounts {
  token: number;
  arm: { total: number; GET: number; PUT: number; LIST: number; POLL: number };
  byConnection: Record<string, { GET: number; PUT: number }>;
  /** Key Vault stand-in requests: authenticated single gets and version-list pages per secret name. */
  keyVault?: { get: Record<string, number>; list: Record<string, number>; total: number };
}

/** What the admin endpoint needs from the sandbox as a whole. */
export interface ArmAdminHooks {
  counts(): SandboxCounts;
  reset(): void;
}

export interface ArmServerOptions {
  tls: { key: string; cert: string };
  store: ArmStore;
  faults: FaultMatcher;
  verifyToken(token: string, audiences: readonly string[]): VerifyResult;
  /** ms since the epoch. */
  now: () => number;
  admin: ArmAdminHooks;
  port?: number;
  /** ServiceNow, Slack and Teams stand-ins served under their own prefixes on the same HTTPS server. */
  platforms?: PlatformStandIns;
  /** People acting on discovery's requests (admin paths under /_sandbox/servicenow and /_sandbox/slack). */
  people?: PeopleCallbacks;
  /** Long-running PUTs of the registry types whose PUT completes asynchronously. */
  operations: OperationBook;
  /** Resource Graph, answering the app's discovery queries from the store. */
  resourceGraph: ResourceGraphStandIn;
}

const OPERATION_PATH =
  /^\/subscriptions\/[^/]+\/providers\/[^/]+\/locations\/sandbox\/operation(Statuses|Results)\/[^/]+$/i;

export interface ArmServer {
  /** https://127.0.0.1:<port> */
  endpoint: string;
  port: number;
  counts(): ArmCounts;
  requests(): RecordedRequest[];
  resetRecords(): void;
  close(): Promise<void>;
}

interface ArmResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Route =
  | { kind: 'list'; address: ResourceAddress }
  | { kind: 'connection'; address: ConnectionAddress }
  | { kind: 'operation' }
  | { kind: 'graph' }
  | { kind: 'unknown' };

function cloudError(
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): ArmResult {
  return { status, body: { error: { code, message } }, ...(headers === undefined ? {} : { headers }) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Fixed segments match case-insensitively, as Resource Manager matches them; the type must be a registry row. */
function matchRoute(rawPath: string): Route {
  const raw = rawPath.split('/');
  if (raw.length > 2 && raw[raw.length - 1] === '') raw.pop();
  const s = raw.map(decodeSegment);
  if (s.some((v) => v === undefined) || s[0] !== '') return { kind: 'unknown' };
  if (OPERATION_PATH.test(rawPath)) return { kind: 'operation' };
  if (rawPath.toLowerCase() === RESOURCE_GRAPH_PATH.toLowerCase()) return { kind: 'graph' };
  const parsed = parseResourcePath(s.slice(1) as string[]);
  if (parsed === undefined) return { kind: 'unknown' };
  if (parsed.connectionName === undefined) return { kind: 'list', address: parsed.resource };
  return { kind: 'connection', address: { ...parsed.resource, connectionName: parsed.connectionName } };
}

/** The AKS spec's examples answer with the Private Link Service's connection type; other providers with their own. */
function connectionType(type: string): string {
  return type === AKS.type
    ? 'Microsoft.Network/privateLinkServices/privateEndpointConnections'
    : `${type}/privateEndpointConnections`;
}

export function connectionBody(c: StoredConnection): unknown {
  return {
    id: c.id,
    name: c.name,
    type: connectionType(c.type),
    ...(c.etag === undefined ? {} : { etag: c.etag }),
    properties: {
      privateEndpoint: { id: c.privateEndpointId },
      privateLinkServiceConnectionState: {
        status: c.status,
        ...(c.description === undefined ? {} : { description: c.description }),
      },
      provisioningState: c.provisioningState,
    },
  };
}

function notFound(
  missing: Exclude<Lookup<unknown>, { found: true }>['missing'],
  a: ConnectionAddress | ResourceAddress,
  operation: 'read' | 'write',
): ArmResult {
  const [namespace = '', ...types] = a.provider.type.split('/');
  const path = types.map((t, i) => `${t}/${a.names[i] ?? ''}`).join('/');
  switch (missing) {
    case 'subscription':
      return cloudError(
        404,
        'SubscriptionNotFound',
        `The subscription '${a.subscriptionId}' could not be found.`,
      );
    case 'resourceGroup':
      return cloudError(
        404,
        'ResourceGroupNotFound',
        `Resource group '${a.resourceGroupName}' could not be found.`,
      );
    case 'resource':
      return cloudError(
        404,
        'ParentResourceNotFound',
        `Failed to perform '${operation}' on resource(s) of type '${types.join('/')}/privateEndpointConnections', because the parent resource ` +
          `'/subscriptions/${a.subscriptionId}/resourceGroups/${a.resourceGroupName}/providers/${namespace}/${path}' could not be found.`,
      );
    case 'connection': {
      const name = 'connectionName' in a ? a.connectionName : '';
      return cloudError(
        404,
        'ResourceNotFound',
        `The Resource '${namespace}/${path}/privateEndpointConnections/${name}' under resource group ` +
          `'${a.resourceGroupName}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      );
    }
  }
}

function unauthorized(code: string, message: string): ArmResult {
  // Resource Manager's challenge; the description must not contain a double quote.
  const description = message.replace(/"/g, "'");
  return cloudError(401, code, message, {
    'www-authenticate': `Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="${description}"`,
  });
}

const iso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

function authenticate(
  header: string | undefined,
  verify: ArmServerOptions['verifyToken'],
  nowMs: number,
): ArmResult | undefined {
  if (header === undefined) {
    return unauthorized(
      'AuthenticationFailed',
      "Authentication failed. The 'Authorization' header is missing.",
    );
  }
  const match = /^Bearer +(\S+)$/i.exec(header.trim());
  if (match === null) {
    return unauthorized(
      'AuthenticationFailed',
      "Authentication failed. The 'Authorization' header is provided in an invalid format.",
    );
  }
  const result = verify(match[1] ?? '', ARM_AUDIENCES);
  if (result.ok) return undefined;
  switch (result.reason) {
    case 'expired':
      return unauthorized(
        'ExpiredAuthenticationToken',
        `The access token expiry UTC time '${iso(result.claims?.exp ?? 0)}' is earlier than current UTC time '${new Date(nowMs).toISOString()}'.`,
      );
    case 'wrong-audience':
      return unauthorized(
        'InvalidAuthenticationTokenAudience',
        `The access token has been obtained for wrong audience or resource '${result.claims?.aud ?? ''}'. ` +
          `It should exactly match with one of the allowed audiences ${ARM_AUDIENCES.map((a) => `'${a}'`).join(',')}.`,
      );
    case 'wrong-issuer':
      return unauthorized(
        'InvalidAuthenticationTokenTenant',
        `The access token is from the wrong issuer '${result.claims?.iss ?? ''}'. It must match the tenant associated with this subscription.`,
      );
    case 'not-yet-valid':
      return unauthorized(
        'InvalidAuthenticationToken',
        `The access token is not valid before '${iso(result.claims?.nbf ?? 0)}'.`,
      );
    default:
      return unauthorized('InvalidAuthenticationToken', 'The access token is invalid.');
  }
}

function checkApiVersion(query: URLSearchParams, supported: string): ArmResult | undefined {
  // Query parameter names are case-insensitive in Resource Manager.
  let value: string | undefined;
  for (const [key, v] of query) if (key.toLowerCase() === 'api-version') value = v;
  if (value === undefined || value === '') {
    return cloudError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
  if (value !== supported) {
    return cloudError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${value}' is invalid. The supported versions are '${supported}'.`,
    );
  }
  return undefined;
}

const canonicalStatus = (status: string): string | undefined =>
  KNOWN_STATUSES.find((s) => s.toLowerCase() === status.toLowerCase());

function transitionError(
  current: StoredConnection,
  status: string,
  description: string | undefined,
): ArmResult | undefined {
  const from = canonicalStatus(current.status) ?? current.status;
  const notAllowed = (why: string): ArmResult =>
    cloudError(
      400,
      'PrivateEndpointConnectionStatusChangeNotAllowed',
      `Cannot change the status of private endpoint connection '${current.name}' from '${from}' to '${status}'. ${why}`,
    );
  if (from === 'Disconnected' && (status !== 'Disconnected' || description !== current.description)) {
    return notAllowed(
      'A Disconnected connection is terminal; delete the private endpoint and create it again.',
    );
  }
  if (from === 'Rejected' && (status === 'Approved' || status === 'Pending')) {
    return notAllowed(
      'A Rejected connection cannot be approved again; delete the private endpoint and create it again.',
    );
  }
  if (status === 'Pending' && from !== 'Pending') {
    return notAllowed('A connection cannot be returned to Pending.');
  }
  return undefined;
}

function applyPut(
  options: Pick<ArmServerOptions, 'store' | 'operations'>,
  address: ConnectionAddress,
  req: IncomingMessage,
  body: string,
): ArmResult {
  const { store } = options;
  const headers = req.headers;
  const existing = store.get(address);
  if (!existing.found) return notFound(existing.missing, address, 'write');
  const contentType = headers['content-type'];
  if (contentType === undefined || !/^application\/json\s*(;|$)/i.test(contentType)) {
    return cloudError(
      415,
      'UnsupportedMediaType',
      `The content media type '${contentType ?? ''}' is not supported. Only 'application/json' is supported.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body) as unknown;
  } catch (error) {
    return cloudError(
      400,
      'InvalidRequestContent',
      `The request content was invalid and could not be deserialized: '${(error as Error).message}'.`,
    );
  }
  if (!isRecord(parsed)) {
    return cloudError(
      400,
      'InvalidRequestContent',
      'The request content was invalid and could not be deserialized: expected a JSON object.',
    );
  }
  const properties = parsed.properties;
  const state = isRecord(properties) ? properties.privateLinkServiceConnectionState : undefined;
  if (properties !== undefined && !isRecord(properties)) {
    return cloudError(
      400,
      'InvalidRequestContent',
      "The request content was invalid and could not be deserialized: 'properties' must be an object.",
    );
  }
  if (state !== undefined && !isRecord(state)) {
    return cloudError(
      400,
      'InvalidRequestContent',
      "The request content was invalid and could not be deserialized: 'properties.privateLinkServiceConnectionState' must be an object.",
    );
  }
  const requested = isRecord(state) ? state.status : undefined;
  if (typeof requested !== 'string' || requested === '') {
    return cloudError(
      400,
      'BadRequest',
      "The request body must contain 'properties.privateLinkServiceConnectionState.status' as a string.",
    );
  }
  const status = canonicalStatus(requested);
  if (status === undefined) {
    return cloudError(
      400,
      'BadRequest',
      `The private link service connection status '${requested}' is not valid. Valid values are ${KNOWN_STATUSES.join(', ')}.`,
    );
  }
  const rawDescription = isRecord(state) ? state.description : undefined;
  if (rawDescription !== undefined && rawDescription !== null && typeof rawDescription !== 'string') {
    return cloudError(
      400,
      'InvalidRequestContent',
      "The request content was invalid and could not be deserialized: 'properties.privateLinkServiceConnectionState.description' must be a string.",
    );
  }
  // PUT replaces the writable state; read-only fields (id, name, type, provisioningState, privateEndpoint) are ignored.
  const description = typeof rawDescription === 'string' ? rawDescription : undefined;
  const refused =
    transitionError(existing.value, status, description) ??
    quirkError(address, existing.value, status, description);
  if (refused !== undefined) return refused;
  const { completion } = address.provider;
  const base = `https://${req.headers.host ?? '127.0.0.1'}`;
  if (options.operations.settings.answerBeforeDone) {
    const started = options.operations.start(
      address,
      { status, description },
      'accepted',
      base,
      connectionBody,
    );
    return { ...started, status: 200 };
  }
  if (completion !== 'sync') {
    return options.operations.start(address, { status, description }, completion, base, connectionBody);
  }
  const updated = store.update(address, { status, description });
  if (!updated.found) return notFound(updated.missing, address, 'write');
  return { status: 200, body: connectionBody(updated.value) };
}

/** What the registry says a provider refuses that Resource Manager in general would not. */
function quirkError(
  address: ConnectionAddress,
  current: StoredConnection,
  status: string,
  description: string | undefined,
): ArmResult | undefined {
  const { quirks } = address.provider;
  if (quirks.includes('description-required') && (description === undefined || description === '')) {
    return cloudError(
      400,
      'InvalidRequestContent',
      "The request content was invalid: 'properties.privateLinkServiceConnectionState.description' is required.",
    );
  }
  if (quirks.includes('repeat-answers-400') && current.status.toLowerCase() === status.toLowerCase()) {
    return cloudError(
      400,
      'InvalidValuesForRequestParameters',
      `Values for request parameters are invalid: the private endpoint connection is already ${current.status}.`,
    );
  }
  return undefined;
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || /^(::ffff:)?127\./.test(address));
}

function readBody(req: IncomingMessage): Promise<{ text: string; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), tooLarge }));
    req.on('error', reject);
  });
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = name === 'authorization' ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function serializeRule(rule: FaultRule): unknown {
  // JSON has no Infinity; say it in words so the admin listing round-trips through POST.
  return { ...rule, times: rule.times === Infinity ? 'Infinity' : rule.times };
}

export async function startArmServer(options: ArmServerOptions): Promise<ArmServer> {
  const { store, faults } = options;
  let counts: ArmCounts = { total: 0, GET: 0, PUT: 0, LIST: 0, POLL: 0, byConnection: {} };
  let recorded: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const writeJson = (req: IncomingMessage, res: ServerResponse, result: ArmResult): string => {
    const requestId = randomUUID();
    const correlation = req.headers['x-ms-correlation-request-id'];
    const clientRequestId = req.headers['x-ms-client-request-id'];
    const text = result.body === undefined ? '' : JSON.stringify(result.body);
    const headers: Record<string, string> = {
      'x-ms-request-id': requestId,
      'x-ms-correlation-request-id':
        typeof correlation === 'string' && correlation !== '' ? correlation : randomUUID(),
      'cache-control': 'no-cache',
      ...(typeof clientRequestId === 'string' ? { 'x-ms-client-request-id': clientRequestId } : {}),
      ...(text === '' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      'content-length': String(Buffer.byteLength(text)),
      ...result.headers,
    };
    res.writeHead(result.status, headers);
    res.end(text);
    return requestId;
  };

  const handleAdmin = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (!isLoopback(req.socket.remoteAddress)) {
      writeJson(
        req,
        res,
        cloudError(403, 'Forbidden', 'The sandbox admin endpoint only answers loopback callers.'),
      );
      return;
    }
    const method = req.method ?? 'GET';
    const { text } = await readBody(req);
    const route = path.replace(/\/+$/, '');
    const send = (result: ArmResult): void => void writeJson(req, res, result);
    const methodNotAllowed = (allowed: string): void =>
      send({
        ...cloudError(
          405,
          'MethodNotAllowed',
          `The sandbox admin path '${route}' does not support '${method}'.`,
        ),
        headers: { allow: allowed },
      });

    if (options.people && options.platforms) {
      const played = await peopleAdmin(options.people, options.platforms, route, method, text);
      if (played) return send(played);
    }
    switch (route) {
      case '/_sandbox/counts':
        if (method === 'GET') send({ status: 200, body: options.admin.counts() });
        else methodNotAllowed('GET');
        return;
      case '/_sandbox/requests':
        if (method === 'GET') send({ status: 200, body: { value: recorded } });
        else methodNotAllowed('GET');
        return;
      case '/_sandbox/connections':
        if (method === 'GET') send({ status: 200, body: { value: store.all() } });
        else methodNotAllowed('GET');
        return;
      case '/_sandbox/reports':
        if (method !== 'GET') return methodNotAllowed('GET');
        send({
          status: 200,
          body: {
            workNotes: options.platforms?.workNotes() ?? [],
            slack: options.platforms?.slackPosts() ?? [],
            teams: options.platforms?.teamsPosts() ?? [],
          },
        });
        return;
      case '/_sandbox/reset':
        if (method === 'POST') {
          options.admin.reset();
          send({ status: 204 });
        } else methodNotAllowed('POST');
        return;
      case '/_sandbox/faults':
        if (method === 'GET') send({ status: 200, body: { value: faults.list().map(serializeRule) } });
        else if (method === 'DELETE') {
          faults.clear();
          send({ status: 204 });
        } else if (method === 'POST') {
          try {
            const rules = parseFaultRules(JSON.parse(text) as unknown);
            faults.add(rules);
            send({ status: 201, body: { added: rules.length, value: faults.list().map(serializeRule) } });
          } catch (error) {
            const message =
              error instanceof FaultRuleError || error instanceof SyntaxError
                ? error.message
                : 'invalid rule';
            send(cloudError(400, 'InvalidFaultRule', message));
          }
        } else methodNotAllowed('GET, POST, DELETE');
        return;
      default:
        send(cloudError(404, 'NotFound', `Unknown sandbox admin path '${route}'.`));
    }
  };

  const count = (method: string, route: Route): void => {
    counts.total += 1;
    if (route.kind === 'list' && method === 'GET') counts.LIST += 1;
    if (route.kind === 'operation' && method === 'GET') counts.POLL += 1;
    if (route.kind !== 'connection' || (method !== 'GET' && method !== 'PUT')) return;
    if (method === 'GET') counts.GET += 1;
    else counts.PUT += 1;
    const key = connectionKey(route.address);
    const entry = (counts.byConnection[key] ??= { GET: 0, PUT: 0, peak: 0 });
    entry[method] += 1;
  };

  // Requests of each connection being answered now (kept apart from `counts`, which a reset replaces).
  const inFlight = new Map<string, number>();
  const track = (route: Route, res: ServerResponse): void => {
    if (route.kind !== 'connection') return;
    const key = connectionKey(route.address);
    const now = (inFlight.get(key) ?? 0) + 1;
    inFlight.set(key, now);
    const entry = counts.byConnection[key];
    if (entry) entry.peak = Math.max(entry.peak, now);
    res.once('close', () => {
      const left = (inFlight.get(key) ?? 1) - 1;
      if (left > 0) inFlight.set(key, left);
      else inFlight.delete(key);
    });
  };

  const processArm = (
    req: IncomingMessage,
    method: string,
    route: Route,
    url: URL,
    body: string,
  ): ArmResult => {
    const authError = authenticate(req.headers.authorization, options.verifyToken, options.now());
    if (authError !== undefined) return authError;
    if (route.kind === 'graph') {
      if (method !== 'POST')
        return {
          ...cloudError(405, 'MethodNotAllowed', 'Resource Graph answers POST.'),
          headers: { allow: 'POST' },
        };
      const versionError = checkApiVersion(url.searchParams, RESOURCE_GRAPH_API_VERSION);
      if (versionError !== undefined) return versionError;
      return options.resourceGraph.answer(body, options.now());
    }
    if (route.kind === 'operation') {
      return method === 'GET'
        ? (options.operations.poll(url.pathname, connectionBody) ??
            cloudError(404, 'NotFound', 'No such operation.'))
        : {
            ...cloudError(405, 'MethodNotAllowed', `Operations only answer GET.`),
            headers: { allow: 'GET' },
          };
    }
    const supported = route.kind === 'unknown' ? AKS.apiVersion : route.address.provider.apiVersion;
    const versionError = checkApiVersion(url.searchParams, supported);
    if (versionError !== undefined) return versionError;
    if (route.kind === 'unknown') {
      return cloudError(
        404,
        'NotFound',
        `The sandbox Resource Manager does not serve '${url.pathname}'. It serves the privateEndpointConnections list, get and put operations of every registry type (src/model/provider-registry.ts).`,
      );
    }
    const allowed = route.kind === 'list' ? ['GET'] : ['GET', 'PUT'];
    if (!allowed.includes(method)) {
      return {
        ...cloudError(
          405,
          'MethodNotAllowed',
          `The requested resource does not support http method '${method}'.`,
        ),
        headers: { allow: allowed.join(', ') },
      };
    }
    if (route.kind === 'list') {
      const found = store.list(route.address);
      return found.found
        ? { status: 200, body: { value: found.value.map(connectionBody) } }
        : notFound(found.missing, route.address, 'read');
    }
    if (method === 'GET') {
      options.operations.touch(route.address);
      const found = store.get(route.address);
      return found.found
        ? { status: 200, body: connectionBody(found.value) }
        : notFound(found.missing, route.address, 'read');
    }
    return applyPut(options, route.address, req, body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const receivedAt = options.now();
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    if (url.pathname === '/_sandbox' || url.pathname.startsWith('/_sandbox/')) {
      await handleAdmin(req, res, url.pathname);
      return;
    }
    if (options.platforms && /^\/_(servicenow|slack|teams)\//.test(url.pathname)) {
      const { text } = await readBody(req);
      if (options.platforms.handle(req, res, url.pathname, text)) return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const route = matchRoute(url.pathname);
    count(method, route);
    track(route, res);
    const { text, tooLarge } = await readBody(req);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: flattenHeaders(req.headers),
      ...(text === '' ? {} : { body: text }),
      status: 0,
      receivedAt,
    };
    const finish = (result: ArmResult): void => {
      record.status = result.status;
      record.requestId = writeJson(req, res, result);
      recorded.push(record);
    };
    const drop = (): void => {
      record.status = 0;
      recorded.push(record);
      req.socket.destroy();
    };

    const fault = faults.take(method, decodeSegment(url.pathname) ?? url.pathname)?.rule;
    if (fault !== undefined) record.fault = fault.kind;
    if (fault?.kind === 'latency') await delay(fault.latencyMs ?? 0);
    const injected = (rule: FaultRule, status: number): ArmResult =>
      cloudError(
        status,
        rule.code ?? defaultErrorCode(status),
        rule.message ?? defaultErrorMessage(status),
        rule.retryAfter === undefined ? undefined : { 'retry-after': rule.retryAfter },
      );
    const faultStatus = fault?.kind === 'status' ? (fault.status ?? 500) : undefined;
    const faultIsSuccess = faultStatus !== undefined && faultStatus >= 200 && faultStatus < 300;
    if (fault !== undefined && !fault.afterApply) {
      if (fault.kind === 'drop') return drop();
      if (faultStatus !== undefined && !faultIsSuccess) return finish(injected(fault, faultStatus));
    }

    let result = tooLarge
      ? cloudError(
          413,
          'RequestEntityTooLarge',
          `The request content exceeds the maximum of ${MAX_BODY_BYTES} bytes.`,
        )
      : processArm(req, method, route, url, text);

    if (fault?.kind === 'drop') return drop();
    if (faultStatus !== undefined) {
      if (faultIsSuccess) {
        if (result.status >= 200 && result.status < 300) result = { ...result, status: faultStatus };
      } else {
        result = injected(fault as FaultRule, faultStatus);
      }
    }
    finish(result);
  };

  const server = createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in the stand-in must still answer like Resource Manager would, not hang the client.
      if (!res.headersSent) {
        writeJson(
          req,
          res,
          cloudError(500, 'InternalServerError', `Sandbox failure: ${(error as Error).message}`),
        );
      } else res.destroy();
    });
  });
  const port = await listenOnLoopback(server, options.port);

  return {
    endpoint: `https://127.0.0.1:${port}`,
    port,
    counts: () => structuredClone(counts),
    requests: () => structuredClone(recorded),
    resetRecords() {
      counts = { total: 0, GET: 0, PUT: 0, LIST: 0, POLL: 0, byConnection: {} };
      recorded = [];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
