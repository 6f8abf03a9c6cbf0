/**
 * The chain heads this process last wrote or read, with their ETags, so the next decision on a connection takes
 * its lease with one conditional write instead of a read and a write. A head changed elsewhere (another process)
 * fails that write with 412; the entry is then dropped and the head read again. Bounded: the oldest entries go
 * first, and a dropped entry costs one read, never a wrong answer.
 */
export interface KnownHead {
  etag: string;
  seq: number;
  hash: string;
  lockedBy?: string;
  leaseUntil: number;
}

const MAX_HEADS = 10_000;

export class ChainHeads {
  readonly #heads = new Map<string, KnownHead>();

  get(chain: string): KnownHead | undefined {
    return this.#heads.get(chain);
  }

  set(chain: string, head: KnownHead): void {
    // Re-inserted so the map's order is the order of last use.
    this.#heads.delete(chain);
    this.#heads.set(chain, head);
    if (this.#heads.size > MAX_HEADS) {
      const oldest = this.#heads.keys().next();
      if (!oldest.done) this.#heads.delete(oldest.value);
    }
  }

  forget(chain: string): void {
    this.#heads.delete(chain);
  }
}
