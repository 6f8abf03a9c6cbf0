import { Refusal } from '../model/refusal.js';

/**
 * How many requests of one connection this process works on at once: at most `perConnection`; the others wait
 * their turn in arrival order, before any storage or Resource Manager call. A flood on one connection then keeps
 * that many calls in flight instead of hundreds, so requests on other connections are not queued behind it (in
 * storage, at Resource Manager, on the sockets). A waiter whose time runs out first is refused having done nothing.
 */
export class ConnectionShare {
  readonly #lines = new Map<string, Line>();
  readonly #perConnection: number;
  readonly #clock: () => number;

  constructor(perConnection: number, clock: () => number) {
    if (!(perConnection >= 1)) throw new RangeError('perConnection must be at least 1');
    this.#perConnection = perConnection;
    this.#clock = clock;
  }

  /** A turn on `key`: call the returned function when done. Throws Refusal('unavailable') after `waitUntil`. */
  async enter(key: string, waitUntil: number): Promise<() => void> {
    const line = this.#lines.get(key) ?? { active: 0, waiting: [] };
    this.#lines.set(key, line);
    if (line.active < this.#perConnection) {
      line.active++;
      return this.#leave(key, line);
    }
    const admitted = await this.#wait(line, waitUntil - this.#clock());
    if (admitted) return this.#leave(key, line);
    this.#drop(key, line);
    throw new Refusal(
      'unavailable',
      `${line.active + line.waiting.length} other requests on this connection are being worked on by this instance; nothing was done. Retry after 1 s.`,
      { retryAfterSeconds: 1, reason: 'connection-share-full' },
    );
  }

  /** Resolves true when a finished request hands this waiter its slot, false when `ms` pass first. */
  #wait(line: Line, ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        line.waiting.splice(line.waiting.indexOf(waiter), 1);
        resolve(false);
      }, ms);
      line.waiting.push(waiter);
    });
  }

  /** Gives the slot to the next waiter (it stays taken), or frees it. Once only. */
  #leave(key: string, line: Line): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = line.waiting.shift();
      if (next) return next.admit();
      line.active--;
      this.#drop(key, line);
    };
  }

  #drop(key: string, line: Line): void {
    if (line.active === 0 && line.waiting.length === 0) this.#lines.delete(key);
  }
}

interface Line {
  active: number;
  waiting: Waiter[];
}

interface Waiter {
  admit: () => void;
}
