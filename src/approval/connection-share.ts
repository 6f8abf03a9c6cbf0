import { InstanceBusyError } from '../model/instance-busy.js';

/**
 * How many requests this process works on at once: at most `perConnection` of one connection and `total` in
 * all; the others wait their turn in arrival order, before any storage or Resource Manager call. A flood on one
 * connection then keeps a few calls in flight instead of hundreds, so requests on other connections are not
 * queued behind it (in storage, at Resource Manager, on the sockets); a flood over many connections keeps the
 * work in progress, and so the memory it holds, bounded. A waiter whose time runs out first is refused having
 * done nothing.
 */
export class ConnectionShare {
  readonly #active = new Map<string, number>();
  readonly #waiting: Waiter[] = [];
  readonly #limits: ShareLimits;
  readonly #clock: () => number;
  #total = 0;

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
    if (this.#hasRoom(key)) return this.#admit(key);
    if (await this.#wait(key, waitUntil - this.#clock())) return this.#leaver(key);
    const ahead = (this.#active.get(key) ?? 0) + this.#waiting.filter((w) => w.key === key).length;
    throw new InstanceBusyError(ahead, this.#total + this.#waiting.length);
  }

  #hasRoom(key: string): boolean {
    return this.#total < this.#limits.total && (this.#active.get(key) ?? 0) < this.#limits.perConnection;
  }

  #admit(key: string): () => void {
    this.#total++;
    this.#active.set(key, (this.#active.get(key) ?? 0) + 1);
    return this.#leaver(key);
  }

  /** Resolves true once admitted (its slot taken for it), false when `ms` pass first. */
  #wait(key: string, ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        key,
        admit: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        resolve(false);
      }, ms);
      this.#waiting.push(waiter);
    });
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

  #letIn(): void {
    for (let i = 0; i < this.#waiting.length && this.#total < this.#limits.total;) {
      const waiter = this.#waiting[i] as Waiter;
      if (!this.#hasRoom(waiter.key)) {
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      this.#total++;
      this.#active.set(waiter.key, (this.#active.get(waiter.key) ?? 0) + 1);
      waiter.admit();
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
  key: string;
  admit: () => void;
}
