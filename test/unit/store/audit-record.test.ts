import { describe, expect, it } from 'vitest';
import {
  auditHash,
  auditRecordEntity,
  AuditRecordInvalidError,
  GENESIS_HASH,
  normaliseAuditRecord,
  rawRecordFromEntity,
  storedRecordFromEntity,
  type AuditRecord,
  type StoredAuditRecord,
} from '../../../src/store/audit-record.js';

const base: AuditRecord = {
  requestId: 'req-1',
  time: '2025-01-01T12:00:00.000Z',
  source: 'teams',
  callerId: 'teams-outgoing-webhook-token',
  callerScheme: 'teams-hmac',
  ticket: { system: 'teams', id: 'msg-1' },
  connectionId: '/subscriptions/s/privateEndpointConnections/pe',
  decision: 'Rejected',
  outcome: 'rejected',
  httpStatus: 200,
  policyReasons: [{ rule: 'r', message: 'm' }],
  arm: { status: 200, error: { code: undefined, message: 'x' } },
  durationMs: 12.6,
};

function stored(record: AuditRecord, seq = 1, prevHash = GENESIS_HASH): StoredAuditRecord {
  const normalised = normaliseAuditRecord(record);
  return { ...normalised, seq, prevHash, hash: auditHash(normalised, seq, prevHash) };
}

describe('audit record', () => {
  it('normalises: rounds durations, drops undefined members and unknown properties, truncates long text', () => {
    const input = { ...base, approver: 'a'.repeat(10_000), token: 'secret-value' } as AuditRecord;
    const out = normaliseAuditRecord(input);
    expect(out.durationMs).toBe(13);
    expect(out.approver).toHaveLength(4_096);
    expect(out).not.toHaveProperty('token');
    expect(out.arm).toEqual({ status: 200, error: { message: 'x' } });
    expect(Object.values(out)).not.toContain(undefined);
  });

  it('refuses records that cannot be audited', () => {
    expect(() => normaliseAuditRecord({ ...base, requestId: '' })).toThrow(AuditRecordInvalidError);
    expect(() => normaliseAuditRecord({ ...base, connectionId: '' })).toThrow(AuditRecordInvalidError);
    expect(() => normaliseAuditRecord({ ...base, outcome: 'maybe' as AuditRecord['outcome'] })).toThrow(
      AuditRecordInvalidError,
    );
    expect(() => normaliseAuditRecord({ ...base, durationMs: Number.POSITIVE_INFINITY })).toThrow(
      AuditRecordInvalidError,
    );
  });

  it('hashes the record together with its position and predecessor', () => {
    const record = normaliseAuditRecord(base);
    const h = auditHash(record, 1, GENESIS_HASH);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(auditHash({ ...record }, 1, GENESIS_HASH)).toBe(h);
    expect(auditHash(record, 2, GENESIS_HASH)).not.toBe(h);
    expect(auditHash(record, 1, 'f'.repeat(64))).not.toBe(h);
    expect(auditHash({ ...record, approver: 'x' }, 1, GENESIS_HASH)).not.toBe(h);
  });

  it('round-trips through a table entity with the same hash', () => {
    const s = stored(base, 3, 'a'.repeat(64));
    const entity = auditRecordEntity('pk', '0000000003', s);
    expect(typeof entity.ticket).toBe('string');
    expect(auditHash(rawRecordFromEntity(entity), 3, s.prevHash)).toBe(s.hash);
    expect(storedRecordFromEntity(entity)).toEqual({ ok: true, record: s });
  });

  it('changes the recomputed hash for any edited or retyped column', () => {
    const s = stored(base);
    const entity = auditRecordEntity('pk', '0000000001', s);
    for (const edit of [
      { outcome: 'approved' },
      { httpStatus: '200' },
      { ticket: '{"id":"msg-1","system":"slack"}' },
      { ticket: 'not json' },
      { approver: 'someone' },
      { durationMs: 14 },
    ]) {
      expect(auditHash(rawRecordFromEntity({ ...entity, ...edit }), 1, GENESIS_HASH)).not.toBe(s.hash);
    }
  });

  it('reports unreadable stored rows instead of returning nonsense', () => {
    const entity = auditRecordEntity('pk', '0000000001', stored(base));
    expect(storedRecordFromEntity({ ...entity, httpStatus: 'x' })).toMatchObject({ ok: false });
    expect(storedRecordFromEntity({ ...entity, ticket: 'not json' })).toMatchObject({ ok: false });
    expect(storedRecordFromEntity({ ...entity, requestId: undefined })).toMatchObject({ ok: false });
  });
});
