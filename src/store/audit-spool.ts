import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { open, readFile, readdir, rename, unlink } from 'node:fs/promises';
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
/** A file a flush took (renamed to it first, so two processes sharing the directory never write one twice). */
const TAKEN = '.taken-';
/** A file that is not a record (cut short by a crash or a full disk): set aside, never in the way of the rest. */
const UNREADABLE = '.unreadable';
/**
 * A taken file older than this belongs to a flush that died: it is put back. Far longer than one record's write
 * can take (the wait for its connection's lease, a few times over), so a slow flush is never overtaken.
 */
const ORPHAN_MS = 30 * 60_000;

/** Waiting records, those a flush took included (one that died leaves them, and a flush must run to put them back). */
const isWaiting = (name: string): boolean => name.endsWith(SUFFIX) || name.includes(`${SUFFIX}${TAKEN}`);

export interface AuditSpoolOptions {
  onUnreadable?: (file: string) => void;
  /**
   * Whether a failed write means storage itself is not answering, so the rest would fail too and the flush stops
   * there. Any other failure (a record its chain cannot take) holds back that record only. Default: every failure.
   */
  isOutage?: (error: unknown) => boolean;
}

export function createAuditSpool(directory: string, options: AuditSpoolOptions = {}): AuditSpool {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  let count = readdirSync(directory).filter(isWaiting).length;
  const onUnreadable = options.onUnreadable ?? (() => undefined);
  const isOutage = options.isOutage ?? (() => true);
  let flushing: Promise<number> | undefined;
  let kept = 0;

  const flushOnce = async (write: (entry: SpooledRecord) => Promise<void>): Promise<number> => {
    const all = await putBackOrphans(directory);
    const names = all.filter((name) => name.endsWith(SUFFIX)).sort();
    // Files another flush holds (or one that died, not yet put back) still wait: the flusher must keep running.
    count = all.filter(isWaiting).length;
    let written = 0;
    let unread = 0;
    const held: unknown[] = [];
    const writeInOrder = inConnectionOrder(write, isOutage);
    for (const name of names) {
      const done = await flushFile(directory, name, writeInOrder).catch((error: unknown) => {
        // Put back already. One record its chain will not take must not keep every later one on this disk.
        if (isOutage(error)) throw error;
        if (!(error instanceof HeldBack)) held.push(error);
        return 'held' as const;
      });
      if (done === 'held') continue;
      if (done === 'unread') {
        unread++;
        continue;
      }
      count--;
      if (done === 'written') written++;
      if (done === 'unreadable') onUnreadable(`${name}${UNREADABLE}`);
    }
    // A file the disk would not give back is left for the next flush, and the others go on meanwhile.
    if (unread > 0) throw new Error(`${unread} spooled file(s) could not be read from ${directory}`);
    if (held.length > 0) {
      throw new Error(
        `${held.length} spooled record(s) could not be written and wait for the next flush (the others were); the first: ${String(held[0])}`,
        { cause: held[0] },
      );
    }
    return written;
  };

  return {
    async keep(entry) {
      // Time first in the name (then this process's count), so a flush writes records in the order their
      // requests ended.
      kept += 1;
      const name = `${Date.now().toString().padStart(15, '0')}-${kept.toString().padStart(10, '0')}-${randomUUID()}${SUFFIX}`;
      await writeDurably(directory, name, JSON.stringify(entry));
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

/**
 * Written under a temporary name, synced, then renamed into place (and the directory synced): a crash or a full
 * disk leaves no half record under a record's name.
 */
async function writeDurably(directory: string, name: string, text: string): Promise<void> {
  const temporary = join(directory, `${name}.tmp`);
  const file = await open(temporary, 'wx', 0o600);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } catch (error) {
    await file.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await file.close();
  await rename(temporary, join(directory, name));
  await syncDirectory(directory);
}

async function syncDirectory(directory: string): Promise<void> {
  // Not every platform can sync a directory (Windows cannot): the rename is then as durable as it gets.
  const handle = await open(directory, 'r').catch(() => undefined);
  await handle
    ?.sync()
    .catch(() => undefined)
    .finally(() => handle.close());
}

/** One spooled file: taken, written, removed; put back when the write fails (and that failure thrown). */
async function flushFile(
  directory: string,
  name: string,
  write: (entry: SpooledRecord) => Promise<void>,
): Promise<'written' | 'gone' | 'unreadable' | 'unread'> {
  const path = join(directory, name);
  // When it was taken, in its name: a rename keeps the file's own times, which are when it was spooled.
  const taken = `${path}${TAKEN}${Date.now()}-${randomUUID()}`;
  try {
    await rename(path, taken);
  } catch (error) {
    if (isMissing(error)) return 'gone'; // another process's flush took it
    throw error;
  }
  let text: string;
  try {
    text = await readFile(taken, 'utf8');
  } catch {
    await rename(taken, path).catch(() => undefined);
    return 'unread';
  }
  let entry: SpooledRecord;
  try {
    entry = JSON.parse(text) as SpooledRecord;
  } catch {
    await rename(taken, `${path}${UNREADABLE}`).catch(() => undefined);
    return 'unreadable';
  }
  try {
    await write(entry);
  } catch (error) {
    // Put back for the next flush, which the caller is told to wait for (storage still refuses).
    await rename(taken, path).catch(() => undefined);
    throw error;
  }
  // Gone already only if a flush took it for an orphan meanwhile, which wrote it too (appendOnce): nothing lost.
  await unlink(taken).catch((error: unknown) => {
    if (!isMissing(error)) throw error;
  });
  return 'written';
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** A record behind one of its connection's that could not be written: it waits for the next flush. */
class HeldBack extends Error {
  override readonly name = 'HeldBack';
}

/**
 * `write` for one flush, where a connection with a record held back has its later records wait too (HeldBack), so
 * its chain gets them in the order their requests ended.
 */
function inConnectionOrder(
  write: (entry: SpooledRecord) => Promise<void>,
  isOutage: (error: unknown) => boolean,
): (entry: SpooledRecord) => Promise<void> {
  const heldBack = new Set<string>();
  return async (entry) => {
    const connection = String(entry.record.connectionId).toLowerCase();
    if (heldBack.has(connection)) throw new HeldBack();
    try {
      await write(entry);
    } catch (error) {
      if (!isOutage(error)) heldBack.add(connection);
      throw error;
    }
  };
}

/** Puts back the files a flush that died had taken; the directory's names as they are then (one listing). */
async function putBackOrphans(directory: string): Promise<string[]> {
  const names: string[] = [];
  for (const name of await readdir(directory)) {
    const at = name.indexOf(TAKEN);
    const takenAt = at < 0 ? Number.NaN : Number(name.slice(at + TAKEN.length).split('-')[0]);
    const orphan = Number.isFinite(takenAt) && Date.now() - takenAt > ORPHAN_MS;
    const back = orphan
      ? await rename(join(directory, name), join(directory, name.slice(0, at))).then(
          () => true,
          () => false,
        )
      : false;
    names.push(back ? name.slice(0, at) : name);
  }
  return names;
}
