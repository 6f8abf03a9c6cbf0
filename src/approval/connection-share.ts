import { InstanceBusyError } from '../model/instance-busy.js';

/**
 * How many requests this process works on at once: at most `perConnection` of one connection and `total` in
 * all; the others wait their turn in arrival order, before any storage or Resource Manager call. A flood on one
 * connection then keeps a few calls in flight instead of hundreds, so requests on other connections are not
 * queued behind it (in storage, at Resource Manager, on the sockets); a flood over many connections keeps the
 * work in progress, and so the memory it holds, bounded. A waiter whose time runs out first is refused having
 * done nothing.
 *
 * Waiters are kept per connection, in arrival order (a Set: a timed-out waiter leaves in O(1)), so a flood of
 * thousands on one connection costs the others nothing when they come and go.
 */
export class ConnectionShare {
  readonly #active = new Map<string, number>();
  readonly #waiting = new Map<string, Set<Waiter>>();
  readonly #limits: ShareLimits;
  readonly #clock: () => number;
  #total = 0;
  #waiters = 0;
  #arrivals = 0;

  constructor(limits: ShareLimits, clock: () => number) {
    if (!(limits.perConnection >= 1) || !(limits.total >= limits.perConnection))
      throw new RangeError('perConnection must be at least 1, and total at least perConnection');
    this.#limits = limits;
    this.#clock = clock;
  }

  /** A turn on `key`: call the returned function when done. Throws InstanceBusyError after `waitUntil`. */
  async enter(key: string, waitUntil: number): Promise<() => void> {
    // Whoever waits is held by its own connection's limit or by the total (room is handed out as it frees), so a
    // request that finds room now takes no one's place.
    if (this.#hasRoom(key)) {
      this.#take(key);
      return this.#leaver(key);
    }
    if (await this.#wait(key, waitUntil - this.#clock())) return this.#leaver(key);
    const ahead = (this.#active.get(key) ?? 0) + (this.#waiting.get(key)?.size ?? 0);
    throw new InstanceBusyError(ahead, this.#total + this.#waiters);
  }

  #hasRoom(key: string): boolean {
    return this.#total < this.#limits.total && (this.#active.get(key) ?? 0) < this.#limits.perConnection;
  }

  #take(key: string): void {
    this.#total++;
    this.#active.set(key, (this.#active.get(key) ?? 0) + 1);
  }

  /** Resolves true once admitted (its slot taken for it), false when `ms` pass first. */
  #wait(key: string, ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    const line = this.#waiting.get(key) ?? new Set<Waiter>();
    this.#waiting.set(key, line);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#remove(key, line, waiter);
        resolve(false);
      }, ms);
      const waiter: Waiter = {
        arrival: this.#arrivals++,
        admit: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      line.add(waiter);
      this.#waiters++;
    });
  }

  #remove(key: string, line: Set<Waiter>, waiter: Waiter): void {
    if (!line.delete(waiter)) return;
    this.#waiters--;
    if (line.size === 0) this.#waiting.delete(key);
  }

  /** Gives the slot back (once only), and lets in the earliest waiters that now have room. */
  #leaver(key: string): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#total--;
      const active = (this.#active.get(key) ?? 1) - 1;
      if (active > 0) this.#active.set(key, active);
      else this.#active.delete(key);
      this.#letIn();
    };
  }

  /** Admits, while there is room in all, the earliest waiter whose connection has room; one look per connection. */
  #letIn(): void {
    while (this.#total < this.#limits.total) {
      let next: { key: string; line: Set<Waiter>; waiter: Waiter } | undefined;
      for (const [key, line] of this.#waiting) {
        if ((this.#active.get(key) ?? 0) >= this.#limits.perConnection) continue;
        const first = line.values().next().value;
        if (first && (next === undefined || first.arrival < next.waiter.arrival))
          next = { key, line, waiter: first };
      }
      if (next === undefined) return;
      this.#remove(next.key, next.line, next.waiter);
      this.#take(next.key);
      next.waiter.admit();
    }
  }
}

export interface ShareLimits {
  /** Requests of one connection at work at once. */
  perConnection: number;
  /** Requests at work at once in all. */
  total: number;
}

interface Waiter {
  arrival: number;
  admit: () => void;
}
