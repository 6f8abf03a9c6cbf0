import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ConnectionShare } from '../../../src/approval/connection-share.js';
import { InstanceBusyError } from '../../../src/model/instance-busy.js';

const FAR = Date.now() + 60_000;

describe('ConnectionShare', () => {
  it('lets `perConnection` requests of one connection in at once, the rest in arrival order as others leave', async () => {
    const share = new ConnectionShare({ perConnection: 2, total: 100 }, Date.now);
    const order: string[] = [];
    const a = await share.enter('c1', FAR);
    const b = await share.enter('c1', FAR);
    const c = share.enter('c1', FAR).then((leave) => (order.push('c'), leave));
    const d = share.enter('c1', FAR).then((leave) => (order.push('d'), leave));
    await nextTurn();
    expect(order).toEqual([]);
    a();
    const leaveC = await c;
    expect(order).toEqual(['c']);
    b();
    const leaveD = await d;
    expect(order).toEqual(['c', 'd']);
    leaveC();
    leaveD();
  });

  it('keeps connections apart: a full one does not hold up another', async () => {
    const share = new ConnectionShare({ perConnection: 1, total: 100 }, Date.now);
    await share.enter('busy', FAR);
    const other = await share.enter('other', FAR);
    expect(typeof other).toBe('function');
  });

  it('counts a slot once however often it is given back', async () => {
    const share = new ConnectionShare({ perConnection: 1, total: 100 }, Date.now);
    const first = await share.enter('c1', FAR);
    first();
    first();
    await share.enter('c1', FAR);
    let third = false;
    void share.enter('c1', FAR).then(() => (third = true));
    await nextTurn();
    expect(third).toBe(false);
  });

  it('refuses a waiter whose time runs out (busy, retry after 1 s), and the line moves on without it', async () => {
    const share = new ConnectionShare({ perConnection: 1, total: 100 }, Date.now);
    const holder = await share.enter('c1', FAR);
    const late = share.enter('c1', Date.now() + 20);
    const patient = share.enter('c1', FAR);
    const refusal = await late.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(InstanceBusyError);
    expect(refusal).toMatchObject({ retryAfterSeconds: 1, ofConnection: 2, inAll: 2 });
    holder();
    expect(typeof (await patient)).toBe('function');
  });

  it('refuses at once when the time is already up', async () => {
    const share = new ConnectionShare({ perConnection: 1, total: 100 }, Date.now);
    await share.enter('c1', FAR);
    await expect(share.enter('c1', Date.now() - 1)).rejects.toBeInstanceOf(InstanceBusyError);
  });

  it('holds at most `total` in all, letting waiters in by arrival order as room frees, whatever their connection', async () => {
    const share = new ConnectionShare({ perConnection: 2, total: 3 }, Date.now);
    const order: string[] = [];
    const a1 = await share.enter('a', FAR);
    await share.enter('a', FAR);
    await share.enter('b', FAR);
    const c = share.enter('c', FAR).then((leave) => (order.push('c'), leave));
    void share.enter('b', FAR).then(() => order.push('b'));
    await nextTurn();
    expect(order).toEqual([]);
    a1();
    await c;
    await nextTurn();
    // c came first; b would have room on its connection too, but the total is full again.
    expect(order).toEqual(['c']);
  });

  it('lets a request in at once when its connection and the total have room, even while others wait for theirs', async () => {
    const share = new ConnectionShare({ perConnection: 1, total: 10 }, Date.now);
    await share.enter('busy', FAR);
    let waiting = true;
    void share.enter('busy', FAR).then(() => (waiting = false));
    const free = await share.enter('free', FAR);
    expect(typeof free).toBe('function');
    expect(waiting).toBe(true);
  });
});
