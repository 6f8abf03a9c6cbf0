import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/store/audit-record.js';
import type { SpooledRecord } from '../../../src/store/audit-spool.js';
import { createAuditSpool } from '../../../src/store/audit-spool.js';

/** The local spool on a real disk: durable files, written once each, in order, whatever else is in the directory. */

const dir = (): string => mkdtempSync(join(tmpdir(), 'pla-spool-'));
const entry = (requestId: string, connectionId = `/connections/${requestId}`): SpooledRecord => ({
  record: { requestId, connectionId } as AuditRecord,
  chained: true,
});

describe('the audit spool', () => {
  it('keeps each record in a file of its own, leaves no temporary file, and writes them in order, once', async () => {
    const directory = dir();
    const spool = createAuditSpool(directory);
    for (const id of ['a', 'b', 'c']) await spool.keep(entry(id));
    expect(readdirSync(directory).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(spool.pending()).toBe(3);
    const written: string[] = [];
    expect(await spool.flush(async (e) => void written.push(e.record.requestId))).toBe(3);
    expect(written).toEqual(['a', 'b', 'c']);
    expect(readdirSync(directory)).toEqual([]);
  });

  it('stops at a write that fails and keeps that record and the rest for the next flush', async () => {
    const spool = createAuditSpool(dir());
    for (const id of ['a', 'b']) await spool.keep(entry(id));
    const failing = async (): Promise<void> => {
      throw new Error('storage down');
    };
    await expect(spool.flush(failing)).rejects.toThrow('storage down');
    expect(spool.pending()).toBe(2);
    const written: string[] = [];
    expect(await spool.flush(async (e) => void written.push(e.record.requestId))).toBe(2);
    expect(written).toEqual(['a', 'b']);
  });

  it('holds back a record its chain will not take and writes the rest; an outage still stops the flush', async () => {
    const outage = new Error('storage down');
    const spool = createAuditSpool(dir(), { isOutage: (error) => error === outage });
    for (const id of ['corrupt-chain', 'b', 'c']) await spool.keep(entry(id));
    const written: string[] = [];
    const write = async (e: SpooledRecord): Promise<void> => {
      if (e.record.requestId === 'corrupt-chain') throw new Error('its chain head is unreadable');
      written.push(e.record.requestId);
    };
    await expect(spool.flush(write)).rejects.toThrow(
      /1 spooled record\(s\) could not be written.*chain head/,
    );
    expect(written).toEqual(['b', 'c']);
    expect(spool.pending()).toBe(1);
    // Storage down: the flush stops at the first record, as before, and keeps it.
    await spool.keep(entry('d'));
    await expect(
      spool.flush(async () => {
        throw outage;
      }),
    ).rejects.toBe(outage);
    expect(spool.pending()).toBe(2);
    expect(await spool.flush(async (e) => void written.push(e.record.requestId))).toBe(2);
    expect(written).toEqual(['b', 'c', 'corrupt-chain', 'd']);
  });

  it("keeps a connection's records in order: one held back holds back the later ones of its connection", async () => {
    const spool = createAuditSpool(dir(), { isOutage: () => false });
    await spool.keep(entry('first', '/connections/busy'));
    await spool.keep(entry('other', '/connections/free'));
    await spool.keep(entry('second', '/connections/BUSY'));
    const written: string[] = [];
    let busy = true;
    const write = async (e: SpooledRecord): Promise<void> => {
      if (busy && e.record.connectionId === '/connections/busy') throw new Error('connection busy');
      written.push(e.record.requestId);
    };
    await expect(spool.flush(write)).rejects.toThrow('1 spooled record(s) could not be written');
    expect(written).toEqual(['other']);
    expect(spool.pending()).toBe(2);
    busy = false;
    expect(await spool.flush(write)).toBe(2);
    expect(written).toEqual(['other', 'first', 'second']);
  });

  it('sets aside a file that is no record (cut short by a crash) instead of stopping every flush at it', async () => {
    const directory = dir();
    writeFileSync(join(directory, `${'0'.repeat(15)}-cut.audit.json`), '{"record":{"requ');
    const spool = createAuditSpool(directory);
    await spool.keep(entry('after'));
    const written: string[] = [];
    expect(await spool.flush(async (e) => void written.push(e.record.requestId))).toBe(1);
    expect(written).toEqual(['after']);
    expect(readdirSync(directory)).toEqual([`${'0'.repeat(15)}-cut.audit.json.unreadable`]);
  });

  it('two processes sharing the directory flush each record once between them', async () => {
    const directory = dir();
    const [one, two] = [createAuditSpool(directory), createAuditSpool(directory)];
    for (let i = 0; i < 20; i++) await one!.keep(entry(`r${i}`));
    const written: string[] = [];
    const write = async (e: SpooledRecord): Promise<void> => {
      await new Promise((resolve) => setImmediate(resolve));
      written.push(e.record.requestId);
    };
    const [a, b] = await Promise.all([one!.flush(write), two!.flush(write)]);
    expect(a + b).toBe(20);
    expect(new Set(written).size).toBe(20);
    expect(written).toHaveLength(20);
  });

  it('puts back a file taken by a flush that died, once that flush is long gone, and counts it as waiting', async () => {
    const directory = dir();
    const orphan = `${'0'.repeat(15)}-orphan.audit.json`;
    const inHand = `${'0'.repeat(15)}-in-hand.audit.json.taken-${Date.now()}-y`;
    writeFileSync(
      join(directory, `${orphan}.taken-${Date.now() - 40 * 60_000}-x`),
      JSON.stringify(entry('orphan')),
    );
    writeFileSync(join(directory, inHand), JSON.stringify(entry('in-hand')));
    const spool = createAuditSpool(directory);
    // A restarted process sees both as waiting, so its flusher runs at all.
    expect(spool.pending()).toBe(2);
    const written: string[] = [];
    await spool.flush(async (e) => void written.push(e.record.requestId));
    // The recent one is another flush's, still at work: left alone.
    expect(written).toEqual(['orphan']);
    expect(readdirSync(directory)).toEqual([inHand]);
    // The one still held elsewhere keeps the flusher running.
    expect(spool.pending()).toBe(1);
  });
});
