import { chainPartition } from './keys.js';

/**
 * Request ids that name their connection's audit chain: an RFC 9562 version 8 UUID whose first 48 bits are the
 * first 48 bits of the chain partition's digest, the other 74 random. A record is then found by its request id
 * with a one-row seek for its chain, then point reads of its id row and itself, and a decision writes no index
 * row of its own (one storage call fewer, and nothing outside the record's transaction). The id says no more
 * than a hash of a connection id its caller named; 74 random bits keep ids unique however many requests one
 * connection gets.
 */

const PREFIX_HEX = 12;
const CHAIN_NAMED = /^([0-9a-f]{8})-([0-9a-f]{4})-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A fresh request id naming the chain of `connectionId`; `random` is a random (version 4) UUID. */
export function requestIdFor(connectionId: string, random: string): string {
  const digest = chainPartition(connectionId).slice(1, 1 + PREFIX_HEX);
  // The random UUID's variant bits stay where they are; its version nibble becomes 8 (custom layout).
  const bits = random.replace(/-/g, '');
  const hex = `${digest}8${bits.slice(13)}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The chain partition keys a request id can belong to, as a range [from, to): undefined for an id that names no
 * chain (ids minted before this layout, scans, ids made up by a caller).
 */
export function chainRangeOf(requestId: string): { from: string; to: string } | undefined {
  const match = CHAIN_NAMED.exec(requestId);
  if (!match) return undefined;
  const digest = `${match[1]}${match[2]}`;
  // Digests are lowercase hex, so every partition key with this prefix sorts before the prefix followed by 'g'.
  return { from: `c${digest}`, to: `c${digest}g` };
}

/** Whether `requestId` names `chain`: its record is then found without an index row. */
export function namesChain(requestId: string, chain: string): boolean {
  const range = chainRangeOf(requestId);
  return range !== undefined && chain.startsWith(range.from);
}
