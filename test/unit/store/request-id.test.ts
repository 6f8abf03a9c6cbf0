import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainPartition } from '../../../src/store/keys.js';
import { chainRangeOf, namesChain, requestIdFor } from '../../../src/store/request-id.js';

const CONNECTION =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-aks/providers/' +
  'Microsoft.ContainerService/managedClusters/aks-prod/privateEndpointConnections/pe-consumer.1234';
const OTHER = CONNECTION.replace('pe-consumer.1234', 'pe-other');

describe('request ids that name their chain', () => {
  it('is an RFC 9562 version 8 UUID whose first 48 bits are the chain digest, the rest from the random UUID', () => {
    const random = randomUUID();
    const id = requestIdFor(CONNECTION, random);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id.replace(/-/g, '').slice(0, 12)).toBe(chainPartition(CONNECTION).slice(1, 13));
    // The version nibble is replaced; the variant and the other random bits are kept.
    expect(id.replace(/-/g, '').slice(13)).toBe(random.replace(/-/g, '').slice(13));
  });

  it('names the same chain whatever the case of the connection id, and differs per request', () => {
    const a = requestIdFor(CONNECTION, randomUUID());
    const b = requestIdFor(CONNECTION.toUpperCase(), randomUUID());
    expect(a).not.toBe(b);
    expect(namesChain(a, chainPartition(CONNECTION))).toBe(true);
    expect(namesChain(b, chainPartition(CONNECTION))).toBe(true);
    expect(namesChain(a, chainPartition(OTHER))).toBe(false);
  });

  it('gives the range of chain partition keys its digest allows, which holds the chain', () => {
    const chain = chainPartition(CONNECTION);
    const range = chainRangeOf(requestIdFor(CONNECTION, randomUUID()));
    expect(range).toBeDefined();
    expect(chain >= range!.from && chain < range!.to).toBe(true);
    expect(chainPartition(OTHER) >= range!.from && chainPartition(OTHER) < range!.to).toBe(false);
  });

  it('names no chain for a version 4 id, a suffixed id or anything else', () => {
    const v4 = randomUUID();
    expect(chainRangeOf(v4)).toBeUndefined();
    expect(namesChain(v4, chainPartition(CONNECTION))).toBe(false);
    expect(chainRangeOf(`${requestIdFor(CONNECTION, v4)}:reported`)).toBeUndefined();
    expect(chainRangeOf('scan-1')).toBeUndefined();
  });
});
