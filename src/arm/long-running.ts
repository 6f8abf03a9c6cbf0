import { createHttpPoller } from '@azure/core-lro';
import type { OperationResponse } from '@azure/core-lro';
import type { PipelineResponse } from '@azure/core-rest-pipeline';
import { parseRetryAfterMs, sleep } from '../backoff.js';
import type { Completion, ProviderType } from '../model/provider-registry.js';
import { isSettling } from '../model/provider-registry.js';
import {
  ArmOperationFailedError,
  ArmOperationRunningError,
  ArmUnavailableError,
  parseCloudError,
} from './arm-errors.js';

/**
 * Resource Manager's asynchronous operations, by @azure/core-lro: a PUT answered 201/202 (or 200) with
 * `Azure-AsyncOperation` or `Location` is polled there — `Retry-After` honoured, `Succeeded`/`Failed`/`Canceled`
 * terminal — until it ends or the caller's deadline comes. At the deadline the poller's state is handed back as a
 * token, so the queue can resume the same operation later instead of sending the PUT again.
 */

const OPERATION_HEADERS = ['azure-asyncoperation', 'location', 'operation-location'] as const;

/**
 * Whether an answer to a PUT starts a long-running operation rather than carrying its result: a 201/202 naming
 * an operation, a 200 with `Azure-AsyncOperation` (Key Vault's "did not finish synchronously"), a bare 202, a
 * bare 201 from a type whose spec marks the PUT long-running, or a 200/201 showing the connection in one of its
 * row's settling states (the RPC: a PUT may answer before it has finished, the resource telling when it has).
 * Without an operation to poll, the connection itself is read until its provisioning state settles.
 */
export function startsOperation(response: PipelineResponse, provider: ProviderType): boolean {
  if (response.status === 202) return true;
  const named = OPERATION_HEADERS.some((name) => response.headers.get(name) !== undefined);
  if (named && (response.status === 201 || response.headers.has('azure-asyncoperation'))) return true;
  if (response.status === 201 && provider.completion !== 'sync') return true;
  return (response.status === 200 || response.status === 201) && isSettling(provider, stateIn(response));
}

/** An answer's JSON body; undefined when it has none or it does not parse. */
function jsonBody(response: PipelineResponse): unknown {
  try {
    return response.bodyAsText ? (JSON.parse(response.bodyAsText) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

function hasStatus(response: PipelineResponse): boolean {
  const body = jsonBody(response);
  return (
    typeof body === 'object' && body !== null && typeof (body as { status?: unknown }).status === 'string'
  );
}

/** The provisioning state an answer's body shows, if it is a resource with one. */
function stateIn(response: PipelineResponse): string | undefined {
  return provisioningStateOf(jsonBody(response));
}

function provisioningStateOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { properties } = body as { properties?: unknown };
  if (typeof properties !== 'object' || properties === null) return undefined;
  const state = (properties as { provisioningState?: unknown }).provisioningState;
  return typeof state === 'string' ? state : undefined;
}

export interface OperationInput {
  /** The PUT's answer, for an operation just started; absent when resuming. */
  initial?: PipelineResponse;
  /** What an earlier wait handed back (`ArmOperationRunningError.resumeToken`). */
  resumeToken?: string;
  completion: Completion;
  /** Whether the connection, read while waiting on it (no operation to poll), shows the change at rest. */
  rests: (provisioningState: string) => boolean;
  /**
   * GET of a poll URL through the client's pipeline (with its retries; it refuses URLs off the Resource Manager
   * endpoint). Answers whatever status came last: for a `Location` operation a 4xx is how failure is told.
   */
  poll: (url: string) => Promise<PipelineResponse>;
  /** Epoch ms at which waiting stops. */
  deadline: number;
  intervalMs: number;
  now: () => number;
  correlationId: string;
}

/**
 * How waiting ended: `ended` — the operation says it succeeded; `unwatched` — its status cannot be read by this
 * identity (401/403) or is gone (404), so the connection itself tells when the change landed. Either way the
 * token resumes from here (an ended poller polls nothing more).
 */
export interface Waited {
  token: string;
  watched: boolean;
}

/** Waits for the operation; throws ArmOperationFailedError when it failed, ArmOperationRunningError at the deadline. */
export async function waitForOperation(input: OperationInput): Promise<Waited> {
  let last: PipelineResponse | undefined = input.initial;
  const kind = pollKindOf(input);
  const view = (response: PipelineResponse): OperationResponse => {
    last = response;
    return operationResponse(response, input.rests);
  };
  const poller = createHttpPoller(
    {
      sendInitialRequest: async () => {
        if (input.initial === undefined) throw new TypeError('an operation is resumed, never started, here');
        return view(input.initial);
      },
      sendPollRequest: async (url) => view(answerOf(await input.poll(url), kind)),
    },
    {
      intervalInMs: input.intervalMs,
      ...(input.completion === 'azure-async-operation' || input.completion === 'location'
        ? { resourceLocationConfig: input.completion }
        : {}),
      skipFinalGet: true,
      resolveOnUnsuccessful: true,
      ...(input.resumeToken === undefined ? {} : { restoreFrom: input.resumeToken }),
    },
  );
  await waitAsAskedBeforeFirstPoll(poller, input);
  const remaining = Math.max(0, input.deadline - input.now());
  try {
    await poller.pollUntilDone({ abortSignal: AbortSignal.timeout(remaining) });
  } catch (error) {
    if (error instanceof PollRefused) return { token: await poller.serialize(), watched: false };
    const notYet = isAbort(error) || error instanceof PollNotAnswered || error instanceof ArmUnavailableError;
    if (!notYet) throw error;
    const asked = last ? parseRetryAfterMs((name) => last?.headers.get(name), input.now()) : undefined;
    throw new ArmOperationRunningError(
      await poller.serialize(),
      retrySeconds(asked ?? input.intervalMs),
      input.correlationId,
    );
  }
  const status = poller.operationState?.status;
  if (status === 'failed' || status === 'canceled') {
    const body = last?.bodyAsText ?? undefined;
    throw new ArmOperationFailedError(status, parseCloudError(body), input.correlationId);
  }
  return { token: await poller.serialize(), watched: true };
}

type Poller = ReturnType<typeof createHttpPoller>;

/**
 * What the polls read, as core-lro chose from the PUT's answer or recorded in the token it handed back: an
 * operation status resource (Azure-AsyncOperation, Operation-Location), a `Location`, or the connection itself.
 */
type PollKind = 'status' | 'location' | 'resource';

function pollKindOf(input: OperationInput): PollKind {
  const { initial, resumeToken } = input;
  if (initial !== undefined) {
    if (initial.headers.has('azure-asyncoperation') || initial.headers.has('operation-location'))
      return 'status';
    return initial.headers.has('location') ? 'location' : 'resource';
  }
  let mode: unknown;
  try {
    const { state } = JSON.parse(resumeToken ?? '') as {
      state?: { config?: { metadata?: { mode?: unknown } } };
    };
    mode = state?.config?.metadata?.mode;
  } catch {
    mode = undefined;
  }
  return mode === 'OperationLocation' ? 'status' : mode === 'ResourceLocation' ? 'location' : 'resource';
}

/**
 * The `Retry-After` of the answer that started the operation is waited out before the first poll (core-lro
 * honours it only from the polls' own answers), but never so long that no poll is left before the caller's
 * deadline: a chat caller's two seconds still see one poll, which may find the operation done.
 */
async function waitAsAskedBeforeFirstPoll(poller: Poller, input: OperationInput): Promise<void> {
  const { initial } = input;
  if (initial === undefined) return;
  const asked = parseRetryAfterMs((name) => initial.headers.get(name), input.now());
  if (asked === undefined || !(asked > 0)) return;
  await poller.submitted();
  if (poller.isDone) return;
  const leaveForOnePoll = input.deadline - input.now() - input.intervalMs;
  await sleep(Math.max(0, Math.min(asked, leaveForOnePoll)));
}

const retrySeconds = (ms: number): number => Math.min(60, Math.max(1, Math.ceil(ms / 1000)));

/** Statuses that say "not now" about the poll itself (throttling, a gateway, a service that is busy). */
const NOT_YET = new Set([429, 502, 503, 504]);

/**
 * What a poll's answer means after the pipeline's retries: refused or gone (401/403/404) says nothing about the
 * operation; throttled, a busy gateway, or a 5xx without an error body is no answer yet; anything else is the
 * operation's answer (a 4xx, or a 500 with the provider's error, is how a `Location` operation fails). A status
 * resource or the connection is read with 200: any other answer failed to read it, not the operation (the RPC's
 * async API), so a 5xx is no answer yet and a 4xx leaves the connection's own reads to tell.
 */
function answerOf(response: PipelineResponse, kind: PollKind): PipelineResponse {
  if (response.status === 401 || response.status === 403 || response.status === 404) throw new PollRefused();
  if (kind !== 'location' && response.status !== 200) {
    throw response.status >= 500 || NOT_YET.has(response.status) ? new PollNotAnswered() : new PollRefused();
  }
  // A status resource's 200 is its verdict only with a status in it (core-lro would read a bare 200 as success).
  if (kind === 'status' && !hasStatus(response)) throw new PollNotAnswered();
  const providerError = parseCloudError(response.bodyAsText ?? undefined).code !== undefined;
  if (NOT_YET.has(response.status) || (response.status >= 500 && !providerError)) throw new PollNotAnswered();
  return response;
}

function operationResponse(response: PipelineResponse, rests: (state: string) => boolean): OperationResponse {
  const body = asSucceededWhenResting(jsonBody(response), rests);
  const headers = response.headers.toJSON();
  // Resource Manager's own header wins: core-lro would follow Operation-Location first when both are sent.
  if (headers['azure-asyncoperation'] !== undefined) delete headers['operation-location'];
  return {
    flatResponse: body,
    rawResponse: {
      statusCode: response.status,
      headers,
      request: { method: response.request.method, url: response.request.url },
      body,
    },
  };
}

/**
 * A bare 202, or an answer still settling, is waited for on the connection itself, whose provisioning state
 * core-lro reads as running until it says `Succeeded`. A provider whose connections rest in another state
 * (`Ready`, or the status itself) would never end: that state is shown to the poller as `Succeeded`. Operation
 * status bodies have no `properties`, so they pass unchanged.
 */
function asSucceededWhenResting(body: unknown, rests: (state: string) => boolean): unknown {
  const state = provisioningStateOf(body);
  if (state === undefined || !rests(state)) return body;
  const resource = body as { properties: object };
  return { ...resource, properties: { ...resource.properties, provisioningState: 'Succeeded' } };
}

class PollNotAnswered extends Error {
  override readonly name = 'PollNotAnswered';
}

/** A poll that cannot tell about the operation (refused, gone, or not to be sent): the connection is read instead. */
export class PollRefused extends Error {
  override readonly name = 'PollRefused';
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
