import { describe, expect, it } from 'vitest';
import { isRefusal, Refusal } from '../../../src/model/refusal.js';

describe('Refusal', () => {
  it('carries its kind, message and details, and is an Error', () => {
    const refusal = new Refusal('invalid-request', 'decision must be Approved or Rejected', {
      reason: 'schema',
    });
    expect(refusal).toBeInstanceOf(Error);
    expect(isRefusal(refusal)).toBe(true);
    expect(refusal.name).toBe('Refusal');
    expect(refusal.kind).toBe('invalid-request');
    expect(refusal.message).toBe('decision must be Approved or Rejected');
    expect(refusal.details).toEqual({ reason: 'schema' });
  });

  it('captures no stack (an answer, not a defect) and leaves every other error’s stack as it was', () => {
    const before = Error.stackTraceLimit;
    const refusal = new Refusal('replayed', 'already received');
    expect(Error.stackTraceLimit).toBe(before);
    expect(refusal.stack ?? '').not.toMatch(/\n\s+at /);
    expect(new Error('a defect').stack).toMatch(/\n\s+at /);
  });
});
