import type { AuthScheme, CallerIdentity, SourceName } from '../../model/approval.js';
import { anyMatches, compileGlob } from '../glob.js';
import type { CompiledCallerEntry } from '../types.js';
import { quote } from '../text.js';

/**
 * callers: which authenticated identities a rule speaks for. An entry matches when the source, one of the ids
 * (globs, case-insensitive), and — when listed — the tenant and authentication scheme all match.
 * `caller.id` is the Entra oid/appid, the chat user id, or the name of the shared secret that verified a
 * signature (see CallerIdentity). A caller no covering rule lists is refused without learning anything about
 * the connection.
 * Syntax and examples: docs/policy.md#callers.
 */

export interface RawCallerEntry {
  source: SourceName;
  ids: string[];
  tenants?: string[];
  schemes?: AuthScheme[];
}

const SOURCES: SourceName[] = ['generic', 'servicenow', 'teams', 'slack', 'discovery'];
const SCHEMES: AuthScheme[] = [
  'entra',
  'standard-webhooks',
  'teams-hmac',
  'slack-v0',
  'function-key',
  'discovery',
];
const list = (items: object) =>
  ({ type: 'array', minItems: 1, uniqueItems: true, maxItems: 1000, items }) as const;

export const callersSchema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['source', 'ids'],
    properties: {
      source: { type: 'string', enum: SOURCES },
      ids: list({ type: 'string', minLength: 1, maxLength: 256 }),
      tenants: list({ type: 'string', minLength: 1, maxLength: 128 }),
      schemes: list({ type: 'string', enum: SCHEMES }),
    },
  },
} as const;

export function compileCallers(raw: readonly RawCallerEntry[]): CompiledCallerEntry[] {
  return raw.map((entry) => ({
    source: entry.source,
    ids: entry.ids.map(compileGlob),
    ...(entry.tenants ? { tenants: new Set(entry.tenants.map((t) => t.toLowerCase())) } : {}),
    ...(entry.schemes ? { schemes: new Set(entry.schemes) } : {}),
  }));
}

function entryMatches(entry: CompiledCallerEntry, caller: CallerIdentity): boolean {
  if (caller.source !== entry.source) return false;
  if (!anyMatches(entry.ids, typeof caller.id === 'string' ? caller.id : undefined)) return false;
  if (
    entry.tenants &&
    !(typeof caller.tenantId === 'string' && entry.tenants.has(caller.tenantId.toLowerCase()))
  ) {
    return false;
  }
  return !entry.schemes || entry.schemes.has(caller.scheme);
}

export const callerMatches = (entries: readonly CompiledCallerEntry[], caller: CallerIdentity): boolean =>
  entries.some((entry) => entryMatches(entry, caller));

/** Who the caller is, for messages. Deliberately does not echo the rule's list back: callers it refuses learn nothing. */
export function describeCaller(caller: CallerIdentity): string {
  const str = (value: unknown): string => (typeof value === 'string' ? quote(value, 64) : '(none)');
  return `caller ${str(caller.source)}:${str(caller.id)} (scheme ${str(caller.scheme)}, tenant ${str(caller.tenantId)})`;
}

export function checkCallers(entries: readonly CompiledCallerEntry[], caller: CallerIdentity): string[] {
  return callerMatches(entries, caller)
    ? []
    : [
        `${describeCaller(caller)} is not among this rule's callers; if it should act on this resource, ask the policy owners to add its source and id`,
      ];
}
