/**
 * Decisions on one connection made in this process take turns here before they take the connection's lease in
 * storage. A waiter is woken the moment the holder's chain write ends, instead of polling the chain head (each
 * poll a storage read) with a growing backoff; across processes the head's ETag still decides (audit-trail.ts).
 * A turn is held at most `holdMs` (the lease's own length), so a holder that never gives it back frees it anyway.
 * A turn handed on (`handTo`) is taken by the owner `rules.passes` says it was meant for; the others do not wait
 * for it in memory (`rules.handedOn`) but go on to storage, whose head decides, as between processes.
 */
export class ConnectionTurns {
  readonly #held = new Map<string, Turn>();
  readonly #clock: () => number;
  readonly #holdMs: number;
  readonly #rules: TurnRules;

  constructor(clock: () => number, holdMs: number, rules: TurnRules = SAME_OWNER) {
    this.#clock = clock;
    this.#holdMs = holdMs;
    this.#rules = rules;
  }

  /** Resolves true once `owner` holds the turn (at once if it already does), false when `waitUntil` passes first. */
  async take(key: string, owner: string, waitUntil: number): Promise<boolean> {
    for (;;) {
      const now = this.#clock();
      const turn = this.#held.get(key);
      if (turn === undefined || this.#rules.passes(turn.owner, owner) || turn.until <= now) {
        this.#held.set(key, { owner, until: now + this.#holdMs, waiters: turn?.waiters ?? new Set() });
        return true;
      }
      // Not holding it then, so that the owner it was handed to still finds it free here.
      if (this.#rules.handedOn(turn.owner)) return true;
      if (now >= waitUntil) return false;
      await wait(turn, Math.min(waitUntil, turn.until) - now);
    }
  }

  /** Epoch ms at which the current turn on `key` runs out (for a caller's Retry-After), if one is held. */
  heldUntil(key: string): number | undefined {
    return this.#held.get(key)?.until;
  }

  /** Hands the turn on to `next`, held afresh; the waiters look again, and only the one it passes takes it. */
  handTo(key: string, owner: string, next: string): void {
    const turn = this.#held.get(key);
    if (turn?.owner !== owner) return;
    this.#held.set(key, { owner: next, until: this.#clock() + this.#holdMs, waiters: turn.waiters });
    for (const wake of turn.waiters) wake();
  }

  /** Gives the turn back; every waiter looks again and one of them takes it. */
  free(key: string, owner: string): void {
    const turn = this.#held.get(key);
    if (turn?.owner !== owner) return;
    this.#held.delete(key);
    for (const wake of turn.waiters) wake();
  }
}

export interface TurnRules {
  /** Whether `owner` may take a turn `held` by another name (its own, or one handed on to it). */
  passes(held: string, owner: string): boolean;
  /** Whether a turn was handed on to a particular owner: the others go on without it. */
  handedOn(held: string): boolean;
}

const SAME_OWNER: TurnRules = { passes: (held, owner) => held === owner, handedOn: () => false };

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
