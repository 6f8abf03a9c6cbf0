import { describe, expect, it } from 'vitest';
import { quietCpu } from '../../../bench/quiet-cpu.js';

describe('quietCpu', () => {
  it('gives up waiting for a share no machine reaches, and answers the idle share of the last window', async () => {
    const idle = await quietCpu({ idleShare: 1.01, windowMs: 20, maxMs: 60 });
    expect(idle).toBeGreaterThanOrEqual(0);
    expect(idle).toBeLessThanOrEqual(1);
  });

  it('returns after one window when the machine is idle enough', async () => {
    const idle = await quietCpu({ idleShare: 0, windowMs: 10, maxMs: 10_000 });
    expect(idle).toBeGreaterThanOrEqual(0);
  });
});
