import { describe, expect, it } from 'vitest';
import type { Completion, ProviderType, Quirk } from '../../../src/model/provider-registry.js';
import {
  actionsOf,
  AKS,
  isSettling,
  PROVIDERS,
  providerOf,
  restingStateOf,
  restsAt,
} from '../../../src/model/provider-registry.js';
import { formatConnectionId, parseConnectionId } from '../../../src/model/resource-id.js';

/**
 * The registry's rows hold what code reads instead of branching on type names, so every row must be usable as
 * written: one row per type, a dated api-version, its provenance, a completion and quirks the code knows, settling
 * states that really are "still changing", and RBAC actions a role can grant as they are.
 */

const COMPLETIONS: readonly Completion[] = ['sync', 'azure-async-operation', 'location', 'accepted'];
const QUIRKS: readonly Quirk[] = [
  'description-required',
  'repeat-answers-400',
  'etag-in-body',
  'decides-pending-only',
  'provisioning-state-is-status',
];
/** Provisioning states after which nothing changes any more (Resource Manager's terminal states). */
const TERMINAL = ['succeeded', 'failed', 'canceled', 'cancelled'];
const NAMESPACE = /^[A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9]*)+$/;
const SUB = '00000000-0000-0000-0000-000000000000';

const rows = PROVIDERS.map((p) => [p.type, p] as const);
const namespaceOf = (p: ProviderType): string => p.type.split('/')[0] ?? '';

describe('the provider registry', () => {
  it('holds every type once, compared case-insensitively, answer spellings included', () => {
    const spellings = PROVIDERS.flatMap((p) => [p.type, ...(p.answerSpellings ?? [])]).map((t) =>
      t.toLowerCase(),
    );
    expect(new Set(spellings).size).toBe(spellings.length);
    expect(PROVIDERS.length).toBeGreaterThan(1);
  });

  it('starts from AKS, the type the app was written for', () => {
    expect(AKS.type).toBe('Microsoft.ContainerService/managedClusters');
    expect(PROVIDERS).toContain(AKS);
    expect(providerOf('microsoft.containerservice/MANAGEDCLUSTERS')).toBe(AKS);
  });

  it('knows no type it does not hold', () => {
    for (const type of [
      '',
      'Microsoft.Nope/things',
      'Microsoft.Storage',
      'Microsoft.Storage/storageAccounts/x',
    ]) {
      expect(providerOf(type), type).toBeUndefined();
    }
  });
});

describe.each(rows)('%s', (_type, p) => {
  it('is Namespace/resourceType[/childType]', () => {
    const segments = p.type.split('/');
    expect(segments.length).toBeGreaterThanOrEqual(2);
    expect(segments.length).toBeLessThanOrEqual(3);
    expect(namespaceOf(p)).toMatch(NAMESPACE);
    for (const segment of segments.slice(1)) expect(segment).toMatch(/^[a-zA-Z][a-zA-Z0-9]*$/);
  });

  it('is found by its type in any casing', () => {
    expect(providerOf(p.type)).toBe(p);
    expect(providerOf(p.type.toUpperCase())).toBe(p);
    expect(providerOf(p.type.toLowerCase())).toBe(p);
  });

  it('has a dated api-version that is a real day', () => {
    expect(p.apiVersion).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(new Date(`${p.apiVersion}T00:00:00Z`).toISOString().slice(0, 10)).toBe(p.apiVersion);
    expect(p.apiVersion >= '2015-01-01').toBe(true);
  });

  it('says where its facts were read, as its `verified` flag says', () => {
    if (p.verified) {
      expect(p.spec).toMatch(/^specification\/[a-z0-9-]+\/resource-manager\/.+\.json$/);
      expect(p.spec).toContain(`/${namespaceOf(p)}/`);
    } else {
      expect(p.spec).toMatch(/^bicep-types-az: generated\/[^ ]+\/types\.md$/);
      expect(p.spec).toContain(`/${namespaceOf(p).toLowerCase()}/${p.apiVersion}/`);
      // Only a provider's own spec tells how its PUT completes; without it the row says sync.
      expect(p.completion).toBe('sync');
    }
  });

  it('completes in a way the client knows', () => {
    expect(COMPLETIONS).toContain(p.completion);
  });

  it('has quirks the code knows, each once', () => {
    for (const quirk of p.quirks) expect(QUIRKS).toContain(quirk);
    expect(new Set(p.quirks).size).toBe(p.quirks.length);
  });

  it('names the statuses a decision needs, or takes a free string', () => {
    if (p.statuses === 'free-string') return;
    expect(p.statuses).toEqual(expect.arrayContaining(['Pending', 'Approved', 'Rejected']));
    expect(new Set(p.statuses.map((s) => s.toLowerCase())).size).toBe(p.statuses.length);
  });

  it('settles only through states that are still changing', () => {
    expect(new Set(p.settling.map((s) => s.toLowerCase())).size).toBe(p.settling.length);
    for (const state of p.settling) {
      expect(state).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(TERMINAL).not.toContain(state.toLowerCase());
      // @azure/core-lro reads a provisioning state containing these as the end of an operation.
      expect(state.toLowerCase()).not.toMatch(/succeeded|fail|cancel/);
    }
  });

  it('rests, whatever its status, in a state that is not settling, so a connection at rest can be decided', () => {
    const statuses = p.statuses === 'free-string' ? ['Pending', 'Approved', 'Rejected'] : p.statuses;
    const settling = p.settling.map((s) => s.toLowerCase());
    for (const status of statuses) expect(settling).not.toContain(restingStateOf(p, status).toLowerCase());
  });

  it('resolves each of its answer spellings to itself', () => {
    for (const spelling of p.answerSpellings ?? []) {
      expect(spelling.toLowerCase()).not.toBe(p.type.toLowerCase());
      expect(spelling.split('/')[0]?.toLowerCase()).toBe(namespaceOf(p).toLowerCase());
      expect(providerOf(spelling)).toBe(p);
      expect(providerOf(spelling.toUpperCase())).toBe(p);
    }
  });

  it("grants the connection's read and write, and what its long-running PUT needs besides, nothing wider", () => {
    const actions = actionsOf(p);
    expect(actions.slice(0, 2)).toEqual([
      `${p.type}/privateEndpointConnections/read`,
      `${p.type}/privateEndpointConnections/write`,
    ]);
    expect(actions.slice(2)).toEqual([...(p.extraActions ?? [])]);
    expect(new Set(actions.map((a) => a.toLowerCase())).size).toBe(actions.length);
    for (const action of actions) {
      expect(action).not.toContain('*');
      expect(action.startsWith(`${namespaceOf(p)}/`), action).toBe(true);
      expect(action).toMatch(/\/(read|write|action)$/);
    }
  });

  it('has name rules that compile, one per name segment at most', () => {
    const rules = p.names ?? [];
    expect(rules.length).toBeLessThanOrEqual(p.type.split('/').length - 1);
    for (const rule of rules) {
      expect(() => new RegExp(rule.pattern, 'u')).not.toThrow();
      expect(rule.pattern.startsWith('^')).toBe(true);
      expect(rule.pattern.endsWith('$')).toBe(true);
      expect(rule.what).not.toBe('');
      expect(rule.rule).not.toBe('');
    }
  });

  it('is a type whose connection ids parse back to this row', () => {
    const [namespace = '', ...types] = p.type.split('/');
    const names = types.map((_t, i) => `name${i + 1}`);
    const pairs = types.map((t, i) => `/${t}/${names[i] ?? ''}`).join('');
    const id = `/subscriptions/${SUB}/resourceGroups/rg1/providers/${namespace}${pairs}/privateEndpointConnections/pe1`;
    const parsed = parseConnectionId(id);
    expect(parsed.provider).toBe(p);
    expect(parsed.names).toEqual(names);
    expect(formatConnectionId(parsed)).toBe(id);
    expect(parseConnectionId(id.toLowerCase()).provider).toBe(p);
  });
});

describe('the rows that need more than a status PUT', () => {
  it('a provider that decides only Pending connections names Pending, or takes a free string', () => {
    for (const p of PROVIDERS.filter((row) => row.quirks.includes('decides-pending-only'))) {
      if (p.statuses !== 'free-string') expect(p.statuses).toContain('Pending');
    }
  });

  it.each(['Microsoft.EventHub/namespaces', 'Microsoft.ServiceBus/namespaces'])(
    '%s is still changing while its EndPointProvisioningState is Creating, Updating or Deleting',
    (type) => {
      const p = providerOf(type);
      for (const state of ['Creating', 'Updating', 'Deleting']) expect(p && isSettling(p, state)).toBe(true);
      expect(p && isSettling(p, 'Succeeded')).toBe(false);
    },
  );

  it('extra actions belong to long-running rows', () => {
    for (const p of PROVIDERS.filter((row) => (row.extraActions ?? []).length > 0)) {
      expect(p.completion, p.type).not.toBe('sync');
    }
  });
});

describe("AKS's cluster name rule", () => {
  const rule = AKS.names?.[0];
  const pattern = new RegExp(rule?.pattern ?? '(?!)', 'u');

  it.each(['a', '1', 'clustername1', 'my-aks_1', `a${'b'.repeat(61)}c`])('takes %s', (name) => {
    expect(pattern.test(name)).toBe(true);
  });

  it.each(['', '-a', 'a-', '_a', 'a_', 'a.b', 'a b', 'ä', `a${'b'.repeat(62)}c`])('refuses %j', (name) => {
    expect(pattern.test(name)).toBe(false);
  });

  it('is the one parseConnectionId applies, with its words', () => {
    expect(() =>
      parseConnectionId(
        `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/-bad/privateEndpointConnections/pe1`,
      ),
    ).toThrow(`${rule?.what ?? ''} "-bad" ${rule?.rule ?? ''}`);
  });
});

describe('restsAt: where a wait on the connection itself ends', () => {
  const row = (type: string): ProviderType => {
    const p = providerOf(type);
    if (p === undefined) throw new Error(`${type} is not in the registry`);
    return p;
  };
  const twins = row('Microsoft.DigitalTwins/digitalTwinsInstances');
  const sql = row('Microsoft.Sql/servers');

  it("ends at the row's resting state, in any case", () => {
    expect(restsAt(AKS, 'succeeded', { status: 'Approved', from: 'Pending' })).toBe(true);
    expect(restsAt(sql, 'READY', { status: 'Approved', from: 'Pending' })).toBe(true);
    expect(restsAt(sql, 'Succeeded', { status: 'Approved', from: 'Pending' })).toBe(false);
    expect(restsAt(sql, 'Approving', { status: 'Approved', from: 'Pending' })).toBe(false);
    // SQL managed instances too: their PUT example answers at rest with Ready.
    const managed = row('Microsoft.Sql/managedInstances');
    expect(restsAt(managed, 'Ready', { status: 'Approved', from: 'Pending' })).toBe(true);
  });

  it('where the provisioning state names the status: at any status but the one replaced', () => {
    const change = { status: 'Approved', from: 'Pending' };
    expect(restsAt(twins, 'Approved', change)).toBe(true);
    // Another decision that landed first ends the wait too; the read after it says which one landed.
    expect(restsAt(twins, 'rejected', change)).toBe(true);
    expect(restsAt(twins, 'Pending', change)).toBe(false);
    // A state that is no status is not an end.
    expect(restsAt(twins, 'Updating', change)).toBe(false);
    // Without the status replaced, only the asked one ends it.
    expect(restsAt(twins, 'Approved', { status: 'Approved' })).toBe(true);
    expect(restsAt(twins, 'Rejected', { status: 'Approved' })).toBe(false);
  });
});
