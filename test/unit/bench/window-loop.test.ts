import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runWindow } from '../../../bench/load/window-loop.js';

describe('window loop', () => {
  const servers: Array<ReturnType<typeof createServer>> = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.closeAllConnections();
  });

  /** Answers /fast at once and never answers /hang. */
  async function server(): Promise<string> {
    const s = createServer((req, res) => {
      req.resume();
      if (req.url === '/fast') req.on('end', () => res.end('ok'));
    });
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }

  it('counts answered requests and cuts off the ones still waiting after the drain', async () => {
    const baseUrl = await server();
    let sent = 0;
    const r = await runWindow({
      baseUrl,
      workers: 3,
      durationSec: 0.2,
      drainMs: 50,
      // Three requests answered, then every caller's next request hangs.
      next: () => ({ path: sent++ < 3 ? '/fast' : '/hang', body: '{}', headers: {} }),
    });
    expect(r.statusCounts).toEqual({ 200: 3 });
    expect(r.latenciesMs).toHaveLength(3);
    expect(r.cutOffMs).toHaveLength(3);
    expect(r.errors).toBe(0);
  });

  it('ends a caller when there is nothing left to send', async () => {
    const baseUrl = await server();
    let left = 5;
    const r = await runWindow({
      baseUrl,
      workers: 2,
      durationSec: 5,
      drainMs: 50,
      next: () => (left-- > 0 ? { path: '/fast', body: '{}', headers: {} } : undefined),
    });
    expect(r.latenciesMs).toHaveLength(5);
    expect(r.cutOffMs).toHaveLength(0);
  });
});
