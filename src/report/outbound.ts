import {
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  tlsPolicy,
  userAgentPolicy,
} from '@azure/core-rest-pipeline';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { parseRetryAfterMs } from '../backoff.js';

/**
 * HTTPS calls to the callers' own platforms (ServiceNow's Table API, a Slack response_url, a Teams Workflows
 * webhook). No redirects are followed and nothing is retried here: a failed report is retried from the queue.
 * URLs come only from configuration, Key Vault, or a host allow-list — never straight from a payload.
 */

export interface OutboundRequest {
  method: 'GET' | 'POST' | 'PATCH';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface OutboundResponse {
  status: number;
  text: string;
  /** How long the platform asked us to wait before trying again (`Retry-After`, on a 429 or 503). */
  retryAfterMs?: number;
}

export type Outbound = (request: OutboundRequest) => Promise<OutboundResponse>;

export function createOutbound(
  options: { tls?: { ca: string }; policies?: PipelinePolicy[]; now?: () => number } = {},
): Outbound {
  const now = options.now ?? Date.now;
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(userAgentPolicy({ userAgentPrefix: 'private-link-approver' }));
  if (options.tls) pipeline.addPolicy(tlsPolicy({ ca: options.tls.ca }));
  for (const policy of options.policies ?? []) pipeline.addPolicy(policy);
  const client = createDefaultHttpClient();
  return async (request) => {
    const url = new URL(request.url);
    if (url.protocol !== 'https:') throw new ReportError(`refusing to send a report over ${url.protocol}`);
    const response = await pipeline.sendRequest(
      client,
      createPipelineRequest({
        url: url.href,
        method: request.method,
        headers: createHttpHeaders(request.headers),
        body: request.body,
        timeout: request.timeoutMs,
        abortSignal: AbortSignal.timeout(request.timeoutMs),
      }),
    );
    const retryAfterMs = parseRetryAfterMs((name) => response.headers.get(name), now());
    const text = response.bodyAsText ?? '';
    return retryAfterMs === undefined
      ? { status: response.status, text }
      : { status: response.status, text, retryAfterMs };
  };
}

/** A report that did not arrive; retried from the queue, never a reason to change the approval. */
export class ReportError extends Error {
  override readonly name = 'ReportError';
  constructor(
    message: string,
    /** The platform's answer, when it gave one. */
    readonly status?: number,
    /** The platform's `Retry-After`: the next try waits at least this long. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
