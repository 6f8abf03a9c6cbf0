import { describe, expect, it } from 'vitest';
import { within } from '../../src/within.js';

describe('within', () => {
  it("gives the work's value when it settles first, undefined when the wait ends first", async () => {
    expect(await within(Promise.resolve('done'), 1_000)).toBe('done');
    const never = new Promise<string>(() => undefined);
    expect(await within(never, 5)).toBeUndefined();
  });

  it('passes a rejection on', async () => {
    await expect(within(Promise.reject(new Error('broken')), 1_000)).rejects.toThrow('broken');
  });
});
