import { describe, expect, it } from 'vitest';
import {
  CallLedger,
  againstTarget,
  attribute,
  classifyCall,
  formatOperations,
  formatRange,
  summarizeKind,
} from '../../../bench/storage-calls.js';
import type { StorageCall } from '../../../bench/storage-calls.js';

const call = (operation: string): StorageCall => ({ service: 'table', operation });

describe('storage call classification', () => {
  const table = (method: string, path: string, conditional = false) =>
    classifyCall('table', method, path, conditional, 'bench');

  it('names table operations by method, path and condition, without the table prefix', () => {
    expect(table('POST', '/devstoreaccount1/Tables')).toBe('create table');
    expect(table('POST', '/devstoreaccount1/benchAudit')).toBe('insert Audit');
    expect(table('POST', '/devstoreaccount1/$batch')).toBe('batch');
    expect(table('GET', "/devstoreaccount1/benchAudit(PartitionKey='a',RowKey='b')")).toBe('read Audit');
    expect(table('GET', "/devstoreaccount1/benchAudit()?$filter=PartitionKey%20eq%20'a'")).toBe(
      'query Audit',
    );
    expect(table('PUT', "/devstoreaccount1/benchNonces(PartitionKey='a',RowKey='b')")).toBe('upsert Nonces');
    expect(table('PUT', "/devstoreaccount1/benchNonces(PartitionKey='a',RowKey='b')", true)).toBe(
      'replace Nonces',
    );
    expect(table('MERGE', "/devstoreaccount1/benchAudit(PartitionKey='a',RowKey='b')", true)).toBe(
      'merge Audit',
    );
    expect(table('PATCH', "/devstoreaccount1/benchAudit(PartitionKey='a',RowKey='b')")).toBe(
      'upsert-merge Audit',
    );
    expect(table('DELETE', "/devstoreaccount1/benchAudit(PartitionKey='a',RowKey='b')", true)).toBe(
      'delete Audit',
    );
    expect(classifyCall('table', 'POST', '/devstoreaccount1/otherAudit', false, 'bench')).toBe(
      'insert otherAudit',
    );
  });

  it('names queue operations', () => {
    const queue = (method: string, path: string) => classifyCall('queue', method, path, false);
    expect(queue('PUT', '/devstoreaccount1/bench-approvals')).toBe('queue create');
    expect(queue('POST', '/devstoreaccount1/bench-approvals/messages')).toBe('queue send');
    expect(queue('GET', '/devstoreaccount1/bench-approvals/messages?numofmessages=16')).toBe('queue receive');
    expect(queue('GET', '/devstoreaccount1/bench-approvals/messages?peekonly=true')).toBe('queue peek');
    expect(queue('DELETE', '/devstoreaccount1/bench-approvals/messages/id?popreceipt=x')).toBe(
      'queue delete message',
    );
  });
});

describe('storage call attribution', () => {
  it('gives a request the calls before its answer and those after it until quiet', () => {
    const ledger = new CallLedger();
    ledger.record(call('startup'));
    const sent = ledger.mark();
    ledger.record(call('insert Nonces'));
    ledger.record(call('batch'));
    const answered = ledger.mark();
    ledger.record(call('insert Index'));
    const settled = ledger.mark();
    ledger.record(call('next request'));
    expect(attribute(ledger, sent, answered, settled)).toEqual({
      responsePath: [call('insert Nonces'), call('batch')],
      after: [call('insert Index')],
    });
  });

  it('summarizes a kind: ranges per request and operations averaged per request', () => {
    const summary = summarizeKind([
      { responsePath: [call('a'), call('b')], after: [] },
      { responsePath: [call('a'), call('b'), call('b')], after: [call('c')] },
      { responsePath: [call('a'), call('b')], after: [] },
    ]);
    expect(summary.requests).toBe(3);
    expect(summary.responsePath).toEqual({ min: 2, max: 3, median: 2 });
    expect(summary.after).toEqual({ min: 0, max: 1, median: 0 });
    expect(summary.pathOperations).toEqual({ a: 1, b: 4 / 3 });
    expect(formatOperations(summary.pathOperations)).toBe('a x1, b x1.3');
    expect(formatOperations(summary.afterOperations)).toBe('c x0.3');
  });

  it('formats ranges and weighs the worst request against a target', () => {
    expect(formatRange({ min: 3, max: 3, median: 3 })).toBe('3');
    expect(formatRange({ min: 3, max: 5, median: 4 })).toBe('3-5 (median 4)');
    expect(formatRange({ min: Number.NaN, max: Number.NaN, median: Number.NaN })).toBe('-');
    expect(againstTarget({ min: 2, max: 3, median: 3 }, 3)).toBe('<= 3: met');
    expect(againstTarget({ min: 3, max: 8, median: 8 }, 3)).toBe('<= 3: OVER by 5');
    expect(againstTarget({ min: 0, max: 0, median: 0 }, undefined)).toBe('');
  });
});
