import type { ChildProcess } from 'node:child_process';
import type { FsCounts } from './fs-counter.js';

/** Messages between the bench and its io-probe child over the IPC channel. */

export type ProbeRequest = { type: 'reset' } | { type: 'counts' };

export type ProbeReply =
  { type: 'ready'; url: string } | { type: 'reset' } | { type: 'counts'; counts: FsCounts };

export class ProbeError extends Error {
  override readonly name = 'ProbeError';
}

/** Waits for the probe's next reply of `type`, after sending `request` if one is given. */
export function exchange<T extends ProbeReply['type']>(
  child: ChildProcess,
  type: T,
  request: ProbeRequest | undefined,
  timeoutMs: number,
): Promise<Extract<ProbeReply, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new ProbeError(`io-probe: no '${type}' reply in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (message: ProbeReply): void => {
      if (message.type === type) finish(undefined, message as Extract<ProbeReply, { type: T }>);
    };
    const onExit = (code: number | null): void => finish(new ProbeError(`io-probe exited (code ${code})`));
    const finish = (error: Error | undefined, message?: Extract<ProbeReply, { type: T }>): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error || message === undefined) reject(error ?? new ProbeError('io-probe: empty reply'));
      else resolve(message);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (request !== undefined) child.send(request);
  });
}
