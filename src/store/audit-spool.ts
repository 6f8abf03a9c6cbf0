import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { open, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditRecord } from './audit-record.js';

/**
 * Records that could not be written when their request ended (storage down after a PUT landed), kept on the
 * instance's local disk, one file each, synced before the answer goes out, and written to the audit table once
 * storage answers again. Local disk outlives a storage outage, not the instance: each spooled record is also
 * logged in full, so the log keeps a copy either way.
 */

export interface SpooledRecord {
  record: AuditRecord;
  /** Whether it belongs in its connection's chain (a decision that met the connection's state). */
  chained: boolean;
}

export interface AuditSpool {
  /** Keeps the record durably (fsync); throws only when the disk itself fails. */
  keep(entry: SpooledRecord): Promise<void>;
  /** Records waiting (as of the last keep or flush). */
  pending(): number;
  /**
   * Writes what is waiting, oldest first, until a write fails (storage still down). One flush at a time; a
   * call while one runs joins it. Resolves to the number written.
   */
  flush(write: (entry: SpooledRecord) => Promise<void>): Promise<number>;
}

const SUFFIX = '.audit.json';

export function createAuditSpool(directory: string): AuditSpool {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  let count = readdirSync(directory).filter((name) => name.endsWith(SUFFIX)).length;
  let flushing: Promise<number> | undefined;

  const flushOnce = async (write: (entry: SpooledRecord) => Promise<void>): Promise<number> => {
    const names = (await readdir(directory)).filter((name) => name.endsWith(SUFFIX)).sort();
    count = names.length;
    let written = 0;
    for (const name of names) {
      const path = join(directory, name);
      const entry = JSON.parse(await readFile(path, 'utf8')) as SpooledRecord;
      await write(entry);
      await unlink(path);
      written++;
      count--;
    }
    return written;
  };

  return {
    async keep(entry) {
      // Time first in the name, so a flush writes records in the order their requests ended.
      const name = `${Date.now().toString().padStart(15, '0')}-${randomUUID()}${SUFFIX}`;
      const file = await open(join(directory, name), 'wx', 0o600);
      try {
        await file.writeFile(JSON.stringify(entry), 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      count++;
    },
    pending: () => count,
    flush(write) {
      flushing ??= flushOnce(write).finally(() => {
        flushing = undefined;
      });
      return flushing;
    },
  };
}
