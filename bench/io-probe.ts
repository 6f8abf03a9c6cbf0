import { installFsCounter } from './fs-counter.js';
import type { ProbeReply, ProbeRequest } from './io-probe-protocol.js';

/**
 * Child process for (f): the local host IN this process, with node:fs read functions counted. The counters are
 * installed before the app is imported (hence the dynamic imports below), and the load generator stays in the
 * bench process, so only the host's own file reads are counted. Configured from the environment exactly as
 * `npm run serve` is; talks to the bench over the IPC channel (see io-probe-protocol.ts).
 */

const counter = installFsCounter();

const { createAppState } = await import('../src/composition-root.js');
const { loadConfig } = await import('../src/config.js');
const { createRoutes } = await import('../src/functions/routes.js');
const { startLocalHost } = await import('../dev/host.js');

const reply = (message: ProbeReply): void => {
  process.send?.(message);
};

const state = createAppState(() => loadConfig(process.env));
const host = await startLocalHost(createRoutes(state), { port: 0, host: '127.0.0.1' });

process.on('message', (message: ProbeRequest) => {
  if (message.type === 'reset') {
    counter.reset();
    reply({ type: 'reset' });
  } else if (message.type === 'counts') {
    reply({ type: 'counts', counts: counter.counts() });
  }
});
process.on('disconnect', () => void host.close().then(() => process.exit(0)));
process.on('SIGTERM', () => void host.close().then(() => process.exit(0)));

reply({ type: 'ready', url: host.url });
