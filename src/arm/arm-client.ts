import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  isRestError,
  tlsPolicy,
  userAgentPolicy,
} from '@azure/core-rest-pipeline';
import type { HttpClient, Pipeline, PipelineResponse } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/core-auth';
import type { ConnectionState } from '../approval/model.js';
import type { Logger } from '../logger.js';
import { PRIVATE_ENDPOINT_CONNECTIONS_API_VERSION } from './api-versions.js';
import { ArmError, ArmResponseError, ArmUnavailableError, parseCloudError } from './arm-errors.js';
import type { ConnectionId } from './resource-id.js';
import { connectionUrl } from './resource-id.js';
import type { RetryOptions } from './retry.js';
import { isRetryableStatus, parseRetryAfter, retryDelayMs } from './retry.js';

export interface ArmClientOptions {
  endpoint: string;
  scope: string;
  credential: TokenCredential;
  retry: RetryOptions;
  /** Extra trusted CA (PEM) for a Resource Manager stand-in with its own certificate. */
  tls?: { ca: string };
  userAgent?: string;
  now: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  httpClient?: HttpClient;
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
}

export interface ArmClient {
  getConnection(id: ConnectionId, context: ArmCallContext): Promise<ArmResult<ConnectionState>>;
  updateConnectionState(
    id: ConnectionId,
    update: ConnectionStateUpdate,
    context: ArmCallContext,
  ): Promise<ArmResult<ConnectionState>>;
}

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Built once per process: one pipeline, so the bearer-token policy's cache means one token fetch until it nears
 * expiry. Retries live here rather than in a pipeline policy so they share the approval's overall deadline.
 */
export function createArmClient(options: ArmClientOptions): ArmClient {
  const pipeline: Pipeline = createEmptyPipeline();
  pipeline.addPolicy(userAgentPolicy({ userAgentPrefix: options.userAgent ?? 'private-link-approver' }));
  if (options.tls) pipeline.addPolicy(tlsPolicy({ ca: options.tls.ca }));
  pipeline.addPolicy(
    bearerTokenAuthenticationPolicy({ credential: options.credential, scopes: [options.scope] }),
  );
  const httpClient = options.httpClient ?? createDefaultHttpClient();
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const { now } = options;

  async function send(
    method: 'GET' | 'PUT',
    id: ConnectionId,
    body: string | undefined,
    context: ArmCallContext,
  ): Promise<PipelineResponse> {
    const url = connectionUrl(options.endpoint, id, PRIVATE_ENDPOINT_CONNECTIONS_API_VERSION);
    let last: LastAttempt = {};
    for (let attempt = 0; ; attempt++) {
      const remaining = context.deadline - now();
      if (remaining <= 0) throw deadlineError(method, context, last);
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
        timeout: remaining,
      });
      const started = now();
      let response: PipelineResponse | undefined;
      try {
        response = await pipeline.sendRequest(httpClient, request);
      } catch (error) {
        const reason = describeTransportError(error);
        // Only transport failures are retried here; a RestError that carries a response is handled below.
        if (isRestError(error) && error.response) {
          response = error.response;
        } else {
          // Refused connections and token failures never reached Resource Manager; anything else may have.
          const neverSent = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|CredentialUnavailable|AuthenticationError/.test(
            reason,
          );
          last = { error: reason, sent: last.sent === true || !neverSent };
          context.logger.warn('arm.transport-error', {
            method,
            attempt,
            error: reason,
            durationMs: now() - started,
          });
        }
      }
      if (response) {
        const armRequestId = response.headers.get('x-ms-request-id');
        context.logger.info('arm.response', {
          method,
          attempt,
          status: response.status,
          armRequestId,
          durationMs: now() - started,
        });
        if (response.status < 300) return response;
        if (!isRetryableStatus(response.status)) {
          throw new ArmError(
            response.status,
            parseCloudError(response.bodyAsText ?? undefined),
            armRequestId,
            context.correlationId,
          );
        }
        last = {
          sent: true,
          status: response.status,
          armRequestId,
          retryAfterMs: parseRetryAfter((name) => response?.headers.get(name), now()),
          error: parseCloudError(response.bodyAsText ?? undefined).code,
        };
      }
      if (attempt >= options.retry.maxRetries) throw exhaustedError(method, context, last, options.retry);
      const delay = retryDelayMs(attempt, last.retryAfterMs, options.retry, random);
      if (now() + delay >= context.deadline) throw deadlineError(method, context, last, delay);
      await sleep(delay, AbortSignal.timeout(Math.max(1, context.deadline - now())));
    }
  }

  return {
    async getConnection(id, context) {
      const response = await send('GET', id, undefined, context);
      return toResult(response, context);
    },
    async updateConnectionState(id, update, context) {
      // Exactly the spec example's body: status (+ description). Nothing read-only is sent back.
      const state: { status: string; description?: string } = { status: update.status };
      if (update.description !== undefined) state.description = update.description;
      const body = JSON.stringify({ properties: { privateLinkServiceConnectionState: state } });
      const response = await send('PUT', id, body, context);
      return toResult(response, context);
    },
  };
}

/** What the last failed attempt left behind; `sent` once any attempt may have reached Resource Manager. */
interface LastAttempt {
  status?: number;
  armRequestId?: string;
  retryAfterMs?: number;
  error?: string;
  sent?: boolean;
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

export function parseConnection(text: string): ConnectionState | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as {
    id?: unknown;
    name?: unknown;
    properties?: {
      privateLinkServiceConnectionState?: { status?: unknown; description?: unknown };
      provisioningState?: unknown;
      privateEndpoint?: { id?: unknown };
    };
  };
  const state = r.properties?.privateLinkServiceConnectionState;
  if (typeof r.id !== 'string' || typeof state?.status !== 'string') return undefined;
  const out: ConnectionState = {
    id: r.id,
    name: typeof r.name === 'string' ? r.name : (r.id.split('/').pop() ?? ''),
    status: state.status,
  };
  if (typeof state.description === 'string') out.description = state.description;
  if (typeof r.properties?.provisioningState === 'string')
    out.provisioningState = r.properties.provisioningState;
  if (typeof r.properties?.privateEndpoint?.id === 'string')
    out.privateEndpointId = r.properties.privateEndpoint.id;
  return out;
}

function describeTransportError(error: unknown): string {
  if (isRestError(error)) return error.code ?? error.message;
  if (error instanceof Error) return (error as Error & { code?: string }).code ?? error.name;
  return 'unknown transport error';
}

function deadlineError(
  method: string,
  context: ArmCallContext,
  last: LastAttempt,
  nextDelayMs?: number,
): ArmUnavailableError {
  const waited = last.status ? `last answer ${last.status}${last.error ? ` ${last.error}` : ''}` : last.error;
  const retryAfterSeconds = Math.max(1, Math.ceil((nextDelayMs ?? last.retryAfterMs ?? 1000) / 1000));
  return new ArmUnavailableError(
    `Resource Manager ${method} did not succeed before the deadline${waited ? ` (${waited})` : ''}`,
    retryAfterSeconds,
    last.status,
    last.armRequestId,
    context.correlationId,
    last.error ? { code: last.error } : undefined,
    method === 'PUT' && last.sent === true,
  );
}

function exhaustedError(
  method: string,
  context: ArmCallContext,
  last: LastAttempt,
  retry: RetryOptions,
): ArmUnavailableError {
  const what = last.status ? `${last.status}${last.error ? ` ${last.error}` : ''}` : (last.error ?? 'error');
  return new ArmUnavailableError(
    `Resource Manager ${method} still failing after ${retry.maxRetries + 1} attempts (last: ${what})`,
    Math.max(1, Math.ceil((last.retryAfterMs ?? retry.maxDelayMs) / 1000)),
    last.status,
    last.armRequestId,
    context.correlationId,
    last.error ? { code: last.error } : undefined,
    method === 'PUT' && last.sent === true,
  );
}
