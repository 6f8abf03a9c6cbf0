import { describe, expect, it } from 'vitest';
import { chainedBound } from '../../../bench/storage-patterns.js';

describe('chainedBound', () => {
  // The floor as (l) measures it: its server 1.1 ms (0.4 of it its own storage client), the sandbox 0.5 ms.
  const floor = { server: 1.1, sandbox: 0.5 };
  const cost = {
    floor: { azurite: 0.55, client: 0.4 },
    chained: { azurite: 1.15, client: 1.0 },
    requests: 1_200,
  };

  it('puts the chained storage in place of the floor own, measured the same way', () => {
    const bound = chainedBound(floor, cost);
    // Outside storage: 1.1 - 0.4 + 0.5 = 1.2 ms.
    expect(bound.floorMs).toBeCloseTo(1.2 + 0.55 + 0.4, 10);
    expect(bound.chainedMs).toBeCloseTo(1.2 + 1.15 + 1.0, 10);
    expect(bound.ratio).toBeCloseTo(3.35 / 2.15, 10);
  });

  it("gives Azurite's part alone with the chained client no dearer than the floor's", () => {
    expect(chainedBound(floor, cost).azuriteOnly).toBeCloseTo((1.2 + 1.15 + 0.4) / 2.15, 10);
  });

  it('is 1 when the two patterns cost the same', () => {
    const same = { ...cost, chained: cost.floor };
    expect(chainedBound(floor, same).ratio).toBe(1);
  });
});
