import { request as httpRequest } from 'node:http';
import type { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Agent as HttpsAgent } from 'node:https';

/** A plain node:http(s) round trip: what "a plain HTTPS client" means in the raw scenario, and admin calls. */

export interface PlainResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface PlainRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** A keep-alive agent; `false` for a fresh connection. */
  agent: HttpAgent | HttpsAgent | false;
  /** Extra CA (PEM) when no agent carries it. */
  ca?: string;
  timeoutMs?: number;
}

export class PlainRequestError extends Error {
  override readonly name = 'PlainRequestError';
}

export function send(options: PlainRequest): Promise<PlainResponse> {
  const url = new URL(options.url);
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise<PlainResponse>((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    };
    const common = { method: options.method, headers, agent: options.agent, timeout: timeoutMs };
    const req =
      url.protocol === 'https:'
        ? httpsRequest(
            url,
            { ...common, agent: options.agent as HttpsAgent | false, ca: options.ca },
            onResponse,
          )
        : httpRequest(url, { ...common, agent: options.agent as HttpAgent | false }, onResponse);
    req.on('timeout', () =>
      req.destroy(new PlainRequestError(`${options.method} ${url.pathname}: no answer in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
