import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import { createOutbound, ReportError } from '../../../src/report/outbound.js';
import type { StandIn } from '../../support/https-stand-in.js';
import {
  answerJson,
  neverAnswer,
  startHttpsStandIn,
  startHttpStandIn,
} from '../../support/https-stand-in.js';

/**
 * The one way reports leave the app: core-rest-pipeline over real sockets, to the sandbox's platform stand-ins
 * and to throwaway endpoints that stand for something hostile. https only, no redirects, no retries.
 */

let sandbox: Sandbox;
const standIns: StandIn[] = [];

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});
beforeEach(() => sandbox.reset());
afterEach(async () => {
  await Promise.all(standIns.splice(0).map((s) => s.close()));
});

async function standIn(answer: Parameters<typeof startHttpsStandIn>[1]): Promise<StandIn> {
  const started = await startHttpsStandIn(sandbox.tls, answer);
  standIns.push(started);
  return started;
}

const trusted = () => createOutbound({ tls: { ca: sandbox.caCertPem } });

describe('createOutbound', () => {
  it('POSTs to the platform over https and hands back status and text', async () => {
    const url = sandbox.slackResponseUrl('outbound-1');
    const response = await trusted()({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hello' }),
      timeoutMs: 5_000,
    });
    expect(response).toEqual({ status: 200, text: 'ok' });
    expect(sandbox.platforms.slackPosts()).toEqual([
      { path: '/_slack/response/outbound-1', body: { text: 'hello' }, at: expect.any(Number) as number },
    ]);
  });

  it('sends the method, headers and body as given, and says who it is', async () => {
    const capture = await standIn(answerJson(200, { result: {} }));
    await trusted()({
      method: 'PATCH',
      url: capture.url('/api/now/table/change_request/abc?x=1'),
      headers: { accept: 'application/json', 'x-custom': 'yes' },
      body: '{"work_notes":"n"}',
      timeoutMs: 5_000,
    });
    const [received] = capture.received();
    expect(received).toMatchObject({
      method: 'PATCH',
      path: '/api/now/table/change_request/abc?x=1',
      body: '{"work_notes":"n"}',
    });
    expect(received!.headers['x-custom']).toBe('yes');
    expect(received!.headers.accept).toBe('application/json');
    expect(received!.headers['user-agent']).toMatch(/^private-link-approver/);
  });

  it('trusts the sandbox only through the CA it was given', async () => {
    const untrusting = createOutbound();
    await expect(
      untrusting({ method: 'POST', url: sandbox.slackResponseUrl(), body: '{}', timeoutMs: 5_000 }),
    ).rejects.toThrow();
    expect(sandbox.platforms.counts().slack).toBe(0);
  });

  it('refuses plain http before opening a connection', async () => {
    const plain = await startHttpStandIn(answerJson(200, {}));
    standIns.push(plain);
    const call = trusted()({ method: 'POST', url: plain.url('/hook'), body: '{}', timeoutMs: 5_000 });
    await expect(call).rejects.toBeInstanceOf(ReportError);
    await expect(call).rejects.toThrow(/refusing to send a report over http:/);
    expect(plain.connections()).toBe(0);
  });

  it.each(['ftp://127.0.0.1/x', 'file:///etc/passwd', 'javascript:alert(1)'])(
    'refuses %s as a report target',
    async (url) => {
      await expect(trusted()({ method: 'POST', url, body: '{}', timeoutMs: 1_000 })).rejects.toBeInstanceOf(
        ReportError,
      );
    },
  );

  it('does not follow a redirect: the 3xx comes back as it is, and its target is never called', async () => {
    const target = sandbox.slackResponseUrl('redirect-target');
    for (const status of [301, 302, 303, 307, 308]) {
      const redirect = await standIn((_r, res) => {
        res.writeHead(status, { location: target }).end();
      });
      const response = await trusted()({
        method: 'POST',
        url: redirect.url('/moved'),
        body: '{}',
        timeoutMs: 5_000,
      });
      expect(response.status).toBe(status);
      expect(redirect.received()).toHaveLength(1);
    }
    expect(sandbox.platforms.counts().slack).toBe(0);
  });

  it('does not retry: one request for an answer of 503 or 429', async () => {
    for (const status of [503, 429]) {
      const busy = await standIn(answerJson(status, { error: 'busy' }, { 'retry-after': '1' }));
      const response = await trusted()({ method: 'POST', url: busy.url('/x'), body: '{}', timeoutMs: 5_000 });
      expect(response.status).toBe(status);
      expect(busy.received()).toHaveLength(1);
    }
  });

  it('gives up on an endpoint that never answers within its timeout', async () => {
    const hole = await standIn(neverAnswer);
    const started = Date.now();
    await expect(
      trusted()({ method: 'POST', url: hole.url('/slow'), body: '{}', timeoutMs: 300 }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(hole.received()).toHaveLength(1);
  });

  it('passes every request through the given policies', async () => {
    const capture = await standIn(answerJson(200, {}));
    const seen: string[] = [];
    const policy: PipelinePolicy = {
      name: 'test-observer',
      sendRequest: async (request, next) => {
        request.headers.set('x-observed', '1');
        const response = await next(request);
        seen.push(`${request.method} ${response.status}`);
        return response;
      },
    };
    await createOutbound({ tls: { ca: sandbox.caCertPem }, policies: [policy] })({
      method: 'GET',
      url: capture.url('/x'),
      timeoutMs: 5_000,
    });
    expect(seen).toEqual(['GET 200']);
    expect(capture.received()[0]!.headers['x-observed']).toBe('1');
  });
});
