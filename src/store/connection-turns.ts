/**
 * Decisions on one connection made in this process take turns here before they take the connection's lease in
 * storage. A waiter is woken the moment the holder's chain write ends, instead of polling the chain head (each
 * poll a storage read) with a growing backoff; across processes the head's ETag still decides (audit-trail.ts).
 * A turn is held at most `holdMs` (the lease's own length), so a holder that never gives it back frees it anyway.
 */
export class ConnectionTurns {
  readonly #held = new Map<string, Turn>();
  readonly #clock: () => number;
  readonly #holdMs: number;

  constructor(clock: () => number, holdMs: number) {
    this.#clock = clock;
    this.#holdMs = holdMs;
  }

  /** Resolves true once `owner` holds the turn (at once if it already does), false when `waitUntil` passes first. */
  async take(key: string, owner: string, waitUntil: number): Promise<boolean> {
    for (;;) {
      const now = this.#clock();
      const turn = this.#held.get(key);
      if (turn === undefined || turn.owner === owner || turn.until <= now) {
        this.#held.set(key, { owner, until: now + this.#holdMs, waiters: turn?.waiters ?? new Set() });
        return true;
      }
      if (now >= waitUntil) return false;
      await wait(turn, Math.min(waitUntil, turn.until) - now);
    }
  }

  /** Epoch ms at which the current turn on `key` runs out (for a caller's Retry-After), if one is held. */
  heldUntil(key: string): number | undefined {
    return this.#held.get(key)?.until;
  }

  /** Gives the turn back; every waiter looks again and one of them takes it. */
  free(key: string, owner: string): void {
    const turn = this.#held.get(key);
    if (turn?.owner !== owner) return;
    this.#held.delete(key);
    for (const wake of turn.waiters) wake();
  }
}

interface Turn {
  owner: string;
  until: number;
  waiters: Set<() => void>;
}

function wait(turn: Turn, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      turn.waiters.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, Math.max(1, ms));
    turn.waiters.add(wake);
  });
}
