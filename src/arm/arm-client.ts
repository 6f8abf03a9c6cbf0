import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  defaultRetryPolicy,
  isRestError,
  tlsPolicy,
  userAgentPolicy,
} from '@azure/core-rest-pipeline';
import type {
  Pipeline,
  HttpClient,
  PipelinePolicy,
  PipelineRequest,
  PipelineResponse,
} from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/core-auth';
import { backoffMs, parseRetryAfterMs, sleep } from '../backoff.js';
import type { Logger } from '../logger.js';
import type { ConnectionState } from '../model/approval.js';
import type { ConnectionId, ResourceId } from '../model/resource-id.js';
import { isSettling, restsAt } from '../model/provider-registry.js';
import {
  ArmError,
  ArmOperationFailedError,
  ArmOperationRunningError,
  ArmResponseError,
  ArmUnavailableError,
  parseCloudError,
} from './arm-errors.js';
import type { Waited } from './long-running.js';
import { PollRefused, startsOperation, waitForOperation } from './long-running.js';
import { parseConnection } from './connection-body.js';
import { connectionsListUrl, connectionUrl } from './connection-url.js';
import type { GraphPage, GraphScopes } from './resource-graph.js';
import {
  graphPage,
  graphRequestBody,
  RESOURCE_GRAPH_API_VERSION,
  RESOURCE_GRAPH_PATH,
} from './resource-graph.js';

export interface RetryOptions {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface ArmClientOptions {
  endpoint: string;
  scope: string;
  credential: TokenCredential;
  retry: RetryOptions;
  /** Extra trusted CA (PEM) for a Resource Manager stand-in with its own certificate. */
  tls?: { ca: string };
  userAgent?: string;
  now: () => number;
  httpClient?: HttpClient;
  /** Per attempt (the app reports Resource Manager's health through it). */
  policies?: PipelinePolicy[];
  /** Wait between polls of a long-running operation when Resource Manager gives no Retry-After. */
  pollIntervalMs?: number;
}

/** One approval's view of the calls it makes: ids sent to ARM, the overall deadline, and where to log. */
export interface ArmCallContext {
  requestId: string;
  correlationId: string;
  /** Epoch ms after which no further attempt starts, and the attempt in flight is aborted. */
  deadline: number;
  logger: Logger;
}

export interface ArmResult<T> {
  value: T;
  status: number;
  armRequestId: string | undefined;
}

export interface ConnectionStateUpdate {
  status: 'Approved' | 'Rejected';
  description?: string;
  /** The status being replaced: while the connection still shows it, a long-running change has not landed. */
  from?: string;
}

export interface ArmClient {
  getConnection(id: ConnectionId, context: ArmCallContext): Promise<ArmResult<ConnectionState>>;
  /**
   * PUT of the connection's state; a long-running answer is waited for (then the connection is read). Throws
   * ArmOperationRunningError at the deadline with what `resumeUpdate` needs to go on waiting.
   */
  updateConnectionState(
    id: ConnectionId,
    update: ConnectionStateUpdate,
    context: ArmCallContext,
  ): Promise<ArmResult<ConnectionState>>;
  /**
   * Goes on waiting for an operation an earlier `updateConnectionState` started, then reads the connection
   * (until it no longer shows the status being replaced, up to the deadline).
   */
  resumeUpdate(
    id: ConnectionId,
    resumeToken: string,
    update: Pick<ConnectionStateUpdate, 'status' | 'from'>,
    context: ArmCallContext,
  ): Promise<ArmResult<ConnectionState>>;
  /** The connections of one resource (its list, every page). */
  listConnections(resource: ResourceId, context: ArmCallContext): Promise<ConnectionState[]>;
  /** One page of a Resource Graph query over the scopes (discovery). */
  queryResources(
    query: string,
    scopes: GraphScopes,
    skipToken: string | undefined,
    context: ArmCallContext,
  ): Promise<GraphPage<Record<string, unknown>>>;
}

type ArmMethod = 'GET' | 'PUT' | 'POST';

/** What the attempts of one call left behind: the last answer, and whether a PUT may have reached ARM. */
interface Attempts {
  method: ArmMethod;
  context: ArmCallContext;
  count: number;
  status?: number;
  armRequestId?: string;
  code?: string;
  error?: string;
  retryAfterMs?: number;
  sent: boolean;
}

/**
 * Stops the library's retry loop (it rethrows anything that is not a RestError), its message saying why: no retry
 * could start before the deadline, or a PUT that may have been applied is not sent again.
 */
class StopRetrying extends Error {
  override readonly name = 'StopRetrying';
}

const NO_TIME = 'did not succeed before the deadline';

/**
 * A PUT whose answer was lost, or was a 408 or a 5xx other than throttling, may have been applied. It is not sent
 * again blindly: some providers refuse a second write (SQL decides only Pending connections; a long-running one
 * may answer 409 while the first runs), so the work goes on by reading the connection back (from the queue, or
 * the caller's retry with its key).
 */
const MAY_HAVE_APPLIED = 'may have been applied, so it is read back rather than sent again';

/**
 * Whether the library's next retry could start before the deadline: its shortest wait is half its exponential
 * delay (the rest is jitter), the same rule as ours (`backoffMs` without its random half). One that cannot would
 * only sleep the caller's time away until the deadline's abort.
 */
function retryFitsBefore(attempts: Attempts, options: ArmClientOptions, now: number): boolean {
  const shortest = backoffMs(attempts.count - 1, retryBackoff(options), () => 0);
  return now + shortest < attempts.context.deadline;
}

/** The configured retry delays, in the shape of the project's backoff rule. */
function retryBackoff(options: ArmClientOptions): { baseMs: number; maxMs: number } {
  return { baseMs: options.retry.baseDelayMs, maxMs: options.retry.maxDelayMs };
}

const NEVER_SENT = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/;

/** The pipeline every call of one client goes through, and the attempts of calls in flight. */
interface Transport {
  pipeline: Pipeline;
  httpClient: HttpClient;
  tracked: WeakMap<PipelineRequest, Attempts>;
  options: ArmClientOptions;
}

/**
 * Built once per process: one pipeline, so the bearer-token policy's cache means one token fetch until it nears
 * expiry. Retries are core-rest-pipeline's (throttling with Retry-After, exponential for 408/5xx and transport
 * errors), bounded by the approval's deadline through the request's abort signal.
 */
export function createArmClient(options: ArmClientOptions): ArmClient {
  const tracked = new WeakMap<PipelineRequest, Attempts>();
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(userAgentPolicy({ userAgentPrefix: options.userAgent ?? 'private-link-approver' }));
  if (options.tls) pipeline.addPolicy(tlsPolicy({ ca: options.tls.ca }));
  pipeline.addPolicy(
    defaultRetryPolicy({
      maxRetries: options.retry.maxRetries,
      retryDelayInMs: options.retry.baseDelayMs,
      maxRetryDelayInMs: options.retry.maxDelayMs,
    }),
  );
  pipeline.addPolicy(
    bearerTokenAuthenticationPolicy({ credential: options.credential, scopes: [options.scope] }),
  );
  pipeline.addPolicy(attemptPolicy(tracked, options));
  for (const policy of options.policies ?? []) pipeline.addPolicy(policy);
  const transport: Transport = {
    pipeline,
    httpClient: options.httpClient ?? createDefaultHttpClient(),
    tracked,
    options,
  };
  return {
    getConnection: (id, context) => readConnection(transport, id, context),
    async updateConnectionState(id, update, context) {
      // Exactly the spec example's body: status (+ description). Nothing read-only is sent back.
      const state: { status: string; description?: string } = { status: update.status };
      if (update.description !== undefined) state.description = update.description;
      const body = JSON.stringify({ properties: { privateLinkServiceConnectionState: state } });
      const answer = await call(transport, 'PUT', connectionUrl(options.endpoint, id), body, context);
      if (!startsOperation(answer, id.provider)) return toResult(answer, context);
      const read = await waitThenRead(transport, id, context, update, { initial: answer });
      return { ...read, status: answer.status, armRequestId: answer.headers.get('x-ms-request-id') };
    },
    resumeUpdate: (id, resumeToken, update, context) =>
      waitThenRead(transport, id, context, update, { resumeToken }),
    listConnections: (resource, context) => listConnections(transport, resource, context),
    async queryResources(query, scopes, skipToken, context) {
      const url = new URL(
        `${RESOURCE_GRAPH_PATH}?api-version=${RESOURCE_GRAPH_API_VERSION}`,
        options.endpoint,
      );
      const body = graphRequestBody(query, scopes, skipToken);
      return graphPage(await call(transport, 'POST', url.href, body, context));
    },
  };
}

/** Every page of a resource's connection list; a `nextLink` is followed only on the same endpoint. */
async function listConnections(
  transport: Transport,
  resource: ResourceId,
  context: ArmCallContext,
): Promise<ConnectionState[]> {
  const found: ConnectionState[] = [];
  let url: string | undefined = connectionsListUrl(transport.options.endpoint, resource);
  while (url !== undefined) {
    const response = await call(transport, 'GET', url, undefined, context);
    const page = JSON.parse(response.bodyAsText ?? '{}') as { value?: unknown; nextLink?: unknown };
    for (const item of Array.isArray(page.value) ? page.value : []) {
      const connection = parseConnection(JSON.stringify(item));
      if (connection) found.push(connection);
    }
    const next: URL | undefined = typeof page.nextLink === 'string' ? new URL(page.nextLink, url) : undefined;
    url = next && next.origin === new URL(transport.options.endpoint).origin ? next.href : undefined;
  }
  return found;
}

async function readConnection(
  transport: Transport,
  id: ConnectionId,
  context: ArmCallContext,
): Promise<ArmResult<ConnectionState>> {
  const url = connectionUrl(transport.options.endpoint, id);
  const response = await call(transport, 'GET', url, undefined, context);
  // Key Vault's spec answers a GET of a connection it does not have with 204: that is the 404 of the others.
  if (response.status === 204) {
    throw new ArmError(
      404,
      {
        code: 'PrivateEndpointConnectionNotFound',
        message: `No private endpoint connection named ${id.connection}.`,
      },
      response.headers.get('x-ms-request-id'),
      context.correlationId,
    );
  }
  return toResult(response, context);
}

/** The operation a PUT started (or an earlier attempt's, resumed), to its end; then the connection. */
async function waitThenRead(
  transport: Transport,
  id: ConnectionId,
  context: ArmCallContext,
  update: Pick<ConnectionStateUpdate, 'status' | 'from'>,
  operation: { initial?: PipelineResponse; resumeToken?: string },
): Promise<ArmResult<ConnectionState>> {
  const { options } = transport;
  if (operation.resumeToken !== undefined)
    checkResumeToken(operation.resumeToken, options.endpoint, id, context);
  const waited = await waitForOperation({
    ...operation,
    completion: id.provider.completion,
    rests: (state) => restsAt(id.provider, state, update),
    poll: (url) =>
      exchange(transport, 'GET', operationUrl(options.endpoint, url, context), undefined, context),
    deadline: context.deadline,
    intervalMs: options.pollIntervalMs ?? 2_000,
    now: options.now,
    correlationId: context.correlationId,
  });
  return readUntil(transport, id, context, update, waited);
}

/**
 * The connection once its operation ended (or could not be watched): read until it no longer shows the status
 * being replaced — the asked one, or another decision's, which the caller reports as superseding this one. Until
 * then, and on any transient failure, the same operation is resumed later: no second PUT.
 */
async function readUntil(
  transport: Transport,
  id: ConnectionId,
  context: ArmCallContext,
  update: Pick<ConnectionStateUpdate, 'status' | 'from'>,
  { token, watched }: Waited,
): Promise<ArmResult<ConnectionState>> {
  const interval = transport.options.pollIntervalMs ?? 2_000;
  const running = () =>
    new ArmOperationRunningError(token, Math.ceil(interval / 1000), context.correlationId);
  for (;;) {
    const read = await readConnection(transport, id, context).catch((error: unknown) => {
      throw error instanceof ArmUnavailableError ? running() : error;
    });
    const status = read.value.status.toLowerCase();
    const landed = status === update.status.toLowerCase();
    const moved = update.from !== undefined && status !== update.from.toLowerCase();
    // Whatever ended the wait (a Location's first 200, a status that could not be read), a connection still in a
    // settling state has not finished: it can still fail and revert.
    if ((landed || moved) && !isSettling(id.provider, read.value.provisioningState)) return read;
    // Only an operation that could not be watched: one watched to its success is not undone by an older Failed.
    if (!landed && !moved && !watched) endIfFailed(read.value, context.correlationId);
    if (transport.options.now() + interval >= context.deadline) throw running();
    await sleep(interval);
  }
}

/**
 * A connection that still shows the status being replaced, with a provisioning state that says its operation
 * ended Failed or Canceled: the change did not land and will not (waiting on would only resume it until the
 * work's age ran out). Reached when the operation's own status could not be read, so its error is not known.
 */
function endIfFailed(connection: ConnectionState, correlationId: string): void {
  const state = connection.provisioningState?.toLowerCase();
  if (state !== 'failed' && state !== 'canceled') return;
  const message =
    `the connection is still ${connection.status} and its provisioning state is ${connection.provisioningState ?? ''}: ` +
    "the provider's operation ended without the change (its own error could not be read); look at the resource's " +
    'activity log, then decide again';
  throw new ArmOperationFailedError(state, { message }, correlationId);
}

/**
 * A resume token comes back from storage: it is followed only if it names an operation in this connection's
 * subscription or its provider's namespace, as the ones this client hands out do. Anything else ends the work
 * unfollowed. Its origin is not judged here: a poll never leaves the endpoint (operationUrl), and an operation
 * named elsewhere, which this client hands out too, is waited for on the connection.
 */
function checkResumeToken(token: string, endpoint: string, id: ConnectionId, context: ArmCallContext): void {
  const [namespace] = id.provider.type.split('/');
  const scopes = [`/subscriptions/${id.subscriptionId}/`, `/providers/${namespace}/`].map((p) =>
    p.toLowerCase(),
  );
  const ours = (url: unknown): boolean => {
    if (typeof url !== 'string') return false;
    try {
      const path = new URL(url, endpoint).pathname.toLowerCase();
      return scopes.some((scope) => path.startsWith(scope));
    } catch {
      return false;
    }
  };
  let state: { status?: unknown; config?: { operationLocation?: unknown; resourceLocation?: unknown } } = {};
  try {
    state = (JSON.parse(token) as { state?: typeof state }).state ?? {};
  } catch {
    // unreadable: refused below
  }
  const { operationLocation, resourceLocation } = state.config ?? {};
  const valid =
    (state.status === 'running' || state.status === 'succeeded') &&
    ours(operationLocation) &&
    (resourceLocation === undefined || ours(resourceLocation));
  if (valid) return;
  const message = 'the stored state of the operation to wait for is not one this app hands out; not followed';
  throw new ArmOperationFailedError(
    'failed',
    { code: 'ResumeStateRefused', message },
    context.correlationId,
    true,
  );
}

/**
 * Polls go only where the client's token may go: the Resource Manager endpoint it was configured with. An
 * operation elsewhere is not followed; the connection itself is read until the change shows, as for a poll
 * Resource Manager refuses.
 */
function operationUrl(endpoint: string, url: string, context: ArmCallContext): string {
  const target = new URL(url, endpoint);
  if (target.origin === new URL(endpoint).origin) return target.href;
  context.logger.warn('arm.operation-not-followed', {
    origin: target.origin,
    why: "outside Resource Manager's endpoint: the connection is read instead",
  });
  throw new PollRefused();
}

/** One call whose answer must be a success: anything else becomes the typed failure. */
async function call(
  transport: Transport,
  method: ArmMethod,
  url: string,
  body: string | undefined,
  context: ArmCallContext,
): Promise<PipelineResponse> {
  const attempts: Attempts = { method, context, count: 0, sent: false };
  const response = await exchange(transport, method, url, body, context, attempts);
  if (response.status < 300) return response;
  if (attempts.retryAfterMs !== undefined || isTransient(response.status)) {
    throw unavailable(attempts, `still failing after ${attempts.count} attempt(s)`);
  }
  const cloudError = parseCloudError(response.bodyAsText ?? undefined);
  const armRequestId = response.headers.get('x-ms-request-id');
  const busy = response.status === 409 ? BUSY_CODES.get((cloudError.code ?? '').toLowerCase()) : undefined;
  if (busy !== undefined) {
    // Another operation on the resource stood in the way: tried again later, like a 503.
    const retryAfterMs = parseRetryAfterMs((name) => response.headers.get(name), transport.options.now());
    const message = `Resource Manager ${method} did not go through: another operation on the resource (409 ${cloudError.code})`;
    const seconds = Math.max(1, Math.ceil((retryAfterMs ?? BUSY_RETRY_MS) / 1000));
    const mayHaveApplied = busy === 'interrupted' && method === 'PUT';
    throw new ArmUnavailableError(
      message,
      seconds,
      409,
      armRequestId,
      context.correlationId,
      cloudError,
      mayHaveApplied,
    );
  }
  throw new ArmError(response.status, cloudError, armRequestId, context.correlationId);
}

/**
 * 409 codes that mean another operation on the resource stood in the way, so the same call can succeed later
 * (Resource Manager's convention; Microsoft.Sql documents OperationInterrupted for its connection PUT). One that
 * was refused did nothing; one that was interrupted had started, and part of it may have landed.
 */
const BUSY_CODES = new Map<string, 'refused' | 'interrupted'>([
  ['anotheroperationinprogress', 'refused'],
  ['operationinterrupted', 'interrupted'],
]);
/** How long to wait before trying a busy resource again when it does not say. */
const BUSY_RETRY_MS = 15_000;

/** One call through the pipeline (retries included): its last answer, whatever the status. */
async function exchange(
  transport: Transport,
  method: ArmMethod,
  url: string,
  body: string | undefined,
  context: ArmCallContext,
  attempts: Attempts = { method, context, count: 0, sent: false },
): Promise<PipelineResponse> {
  const { options } = transport;
  const remaining = context.deadline - options.now();
  if (remaining <= 0) throw unavailable(attempts, NO_TIME);
  const headers = createHttpHeaders({
    accept: 'application/json',
    'x-ms-client-request-id': context.requestId,
    'x-ms-correlation-request-id': context.correlationId,
  });
  if (body !== undefined) headers.set('content-type', 'application/json; charset=utf-8');
  const request = createPipelineRequest({
    url,
    method,
    headers,
    body,
    abortSignal: AbortSignal.timeout(remaining),
  });
  transport.tracked.set(request, attempts);
  try {
    return await transport.pipeline.sendRequest(transport.httpClient, request);
  } catch (error) {
    throw unavailable(attempts, whyNotAnswered(error, attempts));
  }
}

/**
 * Sees every attempt inside the retry loop: logs it, keeps what a failure report needs, and fills two gaps of
 * the library's throttling strategy (no retry of a 429 without Retry-After; sleeping through a Retry-After that
 * ends after our deadline).
 */
function attemptPolicy(
  tracked: WeakMap<PipelineRequest, Attempts>,
  options: ArmClientOptions,
): PipelinePolicy {
  return {
    name: 'armAttempts',
    async sendRequest(request, next) {
      const attempts = tracked.get(request);
      if (attempts === undefined) return next(request);
      const started = options.now();
      attempts.count++;
      try {
        const response = await next(request);
        recordAnswer(attempts, response, options, started);
        return response;
      } catch (error) {
        if (error instanceof StopRetrying) throw error;
        const reason = isRestError(error)
          ? (error.code ?? error.message)
          : error instanceof Error
            ? error.name
            : 'error';
        // Refused connections never reached Resource Manager; anything else may have.
        const sent = !NEVER_SENT.test(reason);
        attempts.sent ||= sent;
        attempts.error = reason;
        // This attempt has no answer: what an earlier one answered is not the last word any more.
        attempts.status = undefined;
        attempts.code = undefined;
        attempts.armRequestId = undefined;
        attempts.context.logger.warn('arm.transport-error', {
          method: attempts.method,
          attempt: attempts.count,
          error: reason,
          durationMs: options.now() - started,
        });
        if (attempts.method === 'PUT' && sent) throw new StopRetrying(MAY_HAVE_APPLIED);
        if (!retryFitsBefore(attempts, options, options.now())) throw new StopRetrying(NO_TIME);
        throw error;
      }
    },
  };
}

function recordAnswer(
  attempts: Attempts,
  response: PipelineResponse,
  options: ArmClientOptions,
  started: number,
): void {
  const now = options.now();
  // A 429 is refused before any work: a PUT answered only that was not applied.
  if (response.status !== 429) attempts.sent = true;
  attempts.error = undefined;
  attempts.status = response.status;
  attempts.armRequestId = response.headers.get('x-ms-request-id');
  attempts.context.logger.info('arm.response', {
    method: attempts.method,
    attempt: attempts.count,
    status: response.status,
    armRequestId: attempts.armRequestId,
    durationMs: now - started,
  });
  if (response.status < 300) return;
  attempts.code = parseCloudError(response.bodyAsText ?? undefined).code;
  // A 503 may come from the provider after it took the write, so only a GET's is throttling; a PUT's may have
  // been applied like any other 5xx.
  const throttled = response.status === 429 || (response.status === 503 && attempts.method !== 'PUT');
  let retryAfterMs = parseRetryAfterMs((name) => response.headers.get(name), now);
  if (response.status === 429 && retryAfterMs === undefined) {
    // The library retries a 429 only when it says how long to wait; give it our backoff as that wait.
    retryAfterMs = Math.round(backoffMs(attempts.count - 1, retryBackoff(options)));
    response.headers.set('retry-after-ms', String(retryAfterMs));
  }
  // Kept for a PUT's 503 too: it is not sent again here, but the queue's next attempt waits what it asked.
  attempts.retryAfterMs = response.status === 429 || response.status === 503 ? retryAfterMs : undefined;
  if (throttled && retryAfterMs !== undefined) {
    // Throttled: refused before any work, so even a PUT is sent again, after the wait asked for.
    if (now + retryAfterMs < attempts.context.deadline) return;
    throw new StopRetrying(`${NO_TIME} (asked to wait ${retryAfterMs} ms)`);
  }
  if (!throttled && !isTransient(response.status)) return;
  // A 408 or 5xx: the library retries it after its backoff.
  if (attempts.method === 'PUT' && !throttled) throw new StopRetrying(MAY_HAVE_APPLIED);
  if (!retryFitsBefore(attempts, options, now)) throw new StopRetrying(NO_TIME);
}

/** 408 and 5xx but 501/505 are worth another try (ARM documents them as transient); other 4xx never are. */
function isTransient(status: number): boolean {
  return status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

function whyNotAnswered(error: unknown, attempts: Attempts): string {
  if (error instanceof StopRetrying) return error.message;
  if (error instanceof Error && error.name === 'AbortError') return NO_TIME;
  // The credential fails before any attempt is sent (token endpoint down, identity not configured).
  if (attempts.count === 0)
    return `was not sent: no token (${error instanceof Error ? error.name : 'error'})`;
  return `still failing after ${attempts.count} attempt(s)`;
}

function unavailable(attempts: Attempts, what: string): ArmUnavailableError {
  const last = attempts.status
    ? `${attempts.status}${attempts.code ? ` ${attempts.code}` : ''}`
    : attempts.error;
  const retryAfterMs = attempts.retryAfterMs ?? 1_000;
  return new ArmUnavailableError(
    `Resource Manager ${attempts.method} ${what}${last ? ` (last: ${last})` : ''}`,
    Math.max(1, Math.ceil(retryAfterMs / 1000)),
    attempts.status,
    attempts.armRequestId,
    attempts.context.correlationId,
    attempts.code ? { code: attempts.code } : attempts.error ? { code: attempts.error } : undefined,
    attempts.method === 'PUT' && attempts.sent,
  );
}

function toResult(response: PipelineResponse, context: ArmCallContext): ArmResult<ConnectionState> {
  const armRequestId = response.headers.get('x-ms-request-id');
  const value = parseConnection(response.bodyAsText ?? '');
  if (!value) {
    throw new ArmResponseError(
      `Resource Manager answered ${response.status} without a private endpoint connection in the body`,
      response.status,
      armRequestId,
      context.correlationId,
    );
  }
  return { value, status: response.status, armRequestId };
}
