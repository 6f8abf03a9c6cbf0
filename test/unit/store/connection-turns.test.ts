import { describe, expect, it } from 'vitest';
import { ConnectionTurns } from '../../../src/store/connection-turns.js';

describe('ConnectionTurns', () => {
  it('one owner at a time per key; a waiter goes on when the holder gives the turn back', async () => {
    const turns = new ConnectionTurns(Date.now, 60_000);
    expect(await turns.take('c1', 'a', Date.now() + 10_000)).toBe(true);
    // The holder again, and another key: at once.
    expect(await turns.take('c1', 'a', Date.now())).toBe(true);
    expect(await turns.take('c2', 'b', Date.now())).toBe(true);
    const order: string[] = [];
    const waiting = turns.take('c1', 'b', Date.now() + 10_000).then((got) => {
      order.push('b');
      return got;
    });
    await new Promise((resolve) => setImmediate(resolve));
    order.push('a frees');
    turns.free('c1', 'a');
    expect(await waiting).toBe(true);
    expect(order).toEqual(['a frees', 'b']);
  });

  it('answers false when the waiter’s own deadline passes first', async () => {
    const turns = new ConnectionTurns(Date.now, 60_000);
    await turns.take('c1', 'a', Date.now() + 10_000);
    expect(await turns.take('c1', 'b', Date.now() + 20)).toBe(false);
    expect(turns.heldUntil('c1')).toBeGreaterThan(Date.now());
  });

  it('a turn never given back frees itself after its hold, as the lease in storage does', async () => {
    const turns = new ConnectionTurns(Date.now, 300);
    await turns.take('c1', 'a', Date.now() + 10_000);
    expect(await turns.take('c1', 'b', Date.now() + 10_000)).toBe(true);
    // The old holder giving back a turn it no longer has changes nothing.
    turns.free('c1', 'a');
    expect(await turns.take('c1', 'c', Date.now() + 20)).toBe(false);
  });

  it('of many waiters, each gets the turn once, one after another', async () => {
    const turns = new ConnectionTurns(Date.now, 60_000);
    let holding = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        expect(await turns.take('c1', `o${i}`, Date.now() + 10_000)).toBe(true);
        holding++;
        most = Math.max(most, holding);
        await new Promise((resolve) => setTimeout(resolve, 1));
        holding--;
        turns.free('c1', `o${i}`);
      }),
    );
    expect(most).toBe(1);
  });

  it('a turn handed on is taken at once by the owner it was meant for; the others go on without holding it', async () => {
    const turns = new ConnectionTurns(Date.now, 60_000, {
      passes: (held, owner) => held === owner || held === `${owner.split('#')[0] ?? ''}#handed`,
      handedOn: (held) => held.endsWith('#handed'),
    });
    await turns.take('c1', 'req', Date.now() + 10_000);
    turns.handTo('c1', 'req', 'req#handed');
    // Another request does not wait for it in memory, and does not take it from the one it was handed to.
    expect(await turns.take('c1', 'other', Date.now())).toBe(true);
    expect(await turns.take('c1', 'req#worker', Date.now())).toBe(true);
    // Now the request's own: others wait for it again.
    expect(await turns.take('c1', 'other', Date.now() + 20)).toBe(false);
  });
});
