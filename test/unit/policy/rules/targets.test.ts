import { describe, expect, it } from 'vitest';
import { evaluatePolicy } from '../../../../src/policy/evaluate.js';
import { baseRule, connectionId, inputOf, OTHER_SUB, policyOf, problemsOfPolicy, SUB } from '../helpers.js';

const covering = (targets: object[], id: string): boolean => {
  const policy = policyOf([{ ...baseRule, targets }]);
  const result = evaluatePolicy(policy, inputOf({ request: { connectionId: id } }));
  return !result.reasons.some((reason) => reason.rule === 'targets');
};

describe('targets', () => {
  const exact = { subscription: SUB, resourceGroup: 'rg1', cluster: 'clustername1' };
  const clusterId = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1`;

  it.each([
    ['exact trio', [exact], connectionId(), true],
    ['exact trio, other casing in the request', [exact], connectionId('ClusterName1', 'RG1'), true],
    ['exact trio, other cluster', [exact], connectionId('clustername2'), false],
    ['exact trio, other resource group', [exact], connectionId('clustername1', 'rg2'), false],
    ['exact trio, other subscription', [exact], connectionId('clustername1', 'rg1', OTHER_SUB), false],
    ['glob cluster', [{ ...exact, cluster: 'cluster*' }], connectionId('clustername9'), true],
    [
      'glob cluster does not match prefix only',
      [{ ...exact, cluster: 'aks-*' }],
      connectionId('my-aks-1'),
      false,
    ],
    ['? matches one character', [{ ...exact, cluster: 'clustername?' }], connectionId('clustername7'), true],
    ['? does not match two', [{ ...exact, cluster: 'clustername?' }], connectionId('clustername77'), false],
    [
      'glob resource group',
      [{ ...exact, resourceGroup: 'rg-prod-*' }],
      connectionId('clustername1', 'RG-PROD-weu'),
      true,
    ],
    [
      'any subscription',
      [{ ...exact, subscription: '*' }],
      connectionId('clustername1', 'rg1', OTHER_SUB),
      true,
    ],
    [
      'resource group with dots and parens',
      [{ ...exact, resourceGroup: 'rg.(a)_b' }],
      connectionId('clustername1', 'rg.(a)_b'),
      true,
    ],
    ['exact cluster id', [{ id: clusterId }], connectionId('clustername1', 'rg1', SUB, 'anything'), true],
    ['exact cluster id, other cluster', [{ id: clusterId }], connectionId('other'), false],
    ['exact connection id', [{ id: connectionId() }], connectionId(), true],
    [
      'exact connection id, other connection',
      [{ id: connectionId() }],
      connectionId('clustername1', 'rg1', SUB, 'pe9'),
      false,
    ],
    [
      'exact id in ARM casing',
      [{ id: clusterId.replace('resourceGroups', 'resourcegroups') }],
      connectionId(),
      true,
    ],
    ['second entry matches', [{ ...exact, cluster: 'x' }, exact], connectionId(), true],
  ])('%s', (_name, targets, id, expected) => {
    expect(covering(targets, id)).toBe(expected);
  });

  it('denies a request no rule covers, naming the cluster and what to do', () => {
    const policy = policyOf([baseRule]);
    const result = evaluatePolicy(policy, inputOf({ request: { connectionId: connectionId('unlisted') } }));
    expect(result).toMatchObject({ allowed: false, status: 403 });
    expect(result.reasons).toHaveLength(1);
    expect(result.reasons[0]?.rule).toBe('targets');
    expect(result.reasons[0]?.message).toContain('"unlisted"');
    expect(result.reasons[0]?.message).toContain("add it to a rule's targets");
  });

  it('denies a malformed connection id instead of throwing', () => {
    const policy = policyOf([
      { ...baseRule, targets: [{ subscription: '*', resourceGroup: '*', cluster: '*' }] },
    ]);
    for (const id of ['', 'not-an-id', `${connectionId()}?x=1`, connectionId().replace('/pe1', '/../pe1')]) {
      const result = evaluatePolicy(policy, inputOf({ request: { connectionId: id } }));
      expect(result).toMatchObject({ allowed: false, status: 403 });
      expect(result.reasons[0]?.rule).toBe('targets');
    }
  });

  it.each([
    [{ subscription: 'not-a-uuid', resourceGroup: 'rg1', cluster: 'c' }, '/rules/0/targets/0/subscription'],
    [{ subscription: SUB, resourceGroup: 'rg1.', cluster: 'c' }, '/rules/0/targets/0/resourceGroup'],
    [{ subscription: SUB, resourceGroup: 'rg 1', cluster: 'c' }, '/rules/0/targets/0/resourceGroup'],
    [{ subscription: SUB, resourceGroup: 'rg1', cluster: 'bad.name' }, '/rules/0/targets/0/cluster'],
    [{ subscription: SUB, resourceGroup: 'rg1' }, '/rules/0/targets/0/cluster'],
    [{ id: '/subscriptions/x' }, '/rules/0/targets/0/id'],
    [
      { id: `/subscriptions/${SUB}/resourceGroups/*/providers/Microsoft.ContainerService/managedClusters/c` },
      '/rules/0/targets/0/id',
    ],
    [{ id: connectionId(), cluster: 'c' }, '/rules/0/targets/0'],
    [{ cluster: 'c', region: 'weu' }, '/rules/0/targets/0/region'],
  ])('refuses target %j at load (%s)', (target, at) => {
    const problems = problemsOfPolicy({ version: 1, rules: [{ ...baseRule, targets: [target] }] });
    expect(problems.map((problem) => problem.pointer)).toContain(at);
  });

  it('requires at least one target', () => {
    const problems = problemsOfPolicy({ version: 1, rules: [{ ...baseRule, targets: [] }] });
    expect(problems[0]?.pointer).toBe('/rules/0/targets');
  });
});

describe('targets of other resource types', () => {
  const rg = `/subscriptions/${SUB}/resourceGroups/rg1/providers`;
  /** A connection id of any type: `names` is the resource's, then its child's for a nested type. */
  const idOf = (type: string, names: string[], connection = 'pe1'): string => {
    const [namespace = '', ...types] = type.split('/');
    const pairs = types.map((t, i) => `/${t}/${names[i] ?? ''}`).join('');
    return `${rg}/${namespace}${pairs}/privateEndpointConnections/${connection}`;
  };
  const resourceIdOf = (connectionIdText: string): string =>
    connectionIdText.replace(/\/privateEndpointConnections\/[^/]+$/, '');

  const STORAGE = idOf('Microsoft.Storage/storageAccounts', ['storprod1']);
  const STORAGE_OTHER = idOf('Microsoft.Storage/storageAccounts', ['other1']);
  const VAULT = idOf('Microsoft.KeyVault/vaults', ['storprod1']);
  const HSM = idOf('Microsoft.KeyVault/managedHSMs', ['hsm1']);
  const SITE = idOf('Microsoft.Web/sites', ['site1']);
  const SLOT = idOf('Microsoft.Web/sites/slots', ['site1', 'staging']);
  const OTHER_SLOT = idOf('Microsoft.Web/sites/slots', ['site1', 'prod']);
  const STATIC_SITE = idOf('Microsoft.Web/staticSites', ['static1']);
  const AKS_ID = connectionId();
  const any = { subscription: '*', resourceGroup: '*' };
  const ofType = (type: string, resource = '*'): object => ({ ...any, type, resource });

  it.each([
    ['a namespace glob covers its types', [ofType('Microsoft.Storage/*')], STORAGE, true],
    ['a namespace glob covers no other namespace', [ofType('Microsoft.Storage/*')], VAULT, false],
    ['a namespace glob covers no AKS cluster', [ofType('Microsoft.Storage/*')], AKS_ID, false],
    ['"*" covers every type: Storage', [ofType('*')], STORAGE, true],
    ['"*" covers every type: AKS', [ofType('*')], AKS_ID, true],
    ['"*" covers every type: a nested one', [ofType('*')], SLOT, true],
    ['an exact type', [ofType('Microsoft.KeyVault/vaults')], VAULT, true],
    ['an exact type, not its sibling', [ofType('Microsoft.KeyVault/vaults')], HSM, false],
    ['a type in other casing', [ofType('microsoft.keyvault/VAULTS')], VAULT, true],
    [
      'a type, the request in other casing',
      [ofType('Microsoft.KeyVault/vaults')],
      VAULT.replace('Microsoft.KeyVault/vaults', 'microsoft.keyvault/VAULTS'),
      true,
    ],
    ['a parent type is not its nested type', [ofType('Microsoft.Web/sites')], SLOT, false],
    ['a nested type is not its parent type', [ofType('Microsoft.Web/sites/slots')], SITE, false],
    ['a nested type exactly', [ofType('Microsoft.Web/sites/slots')], SLOT, true],
    ['"*" spans the "/" of a nested type', [ofType('Microsoft.Web/*')], SLOT, true],
    ['a trailing glob takes parent and child', [ofType('Microsoft.Web/sites*')], SLOT, true],
    ['a trailing glob, another type', [ofType('Microsoft.Web/sites*')], STATIC_SITE, false],
    ['"?" in a type', [ofType('Microsoft.Web/site?')], SITE, true],
    ['a resource glob', [ofType('Microsoft.Storage/storageAccounts', 'stor*')], STORAGE, true],
    [
      'a resource glob, another name',
      [ofType('Microsoft.Storage/storageAccounts', 'stor*')],
      STORAGE_OTHER,
      false,
    ],
    ['a resource name in other casing', [ofType('*', 'STORPROD1')], STORAGE, true],
    ['a nested type matches its resource (the site), not the slot', [ofType('*', 'site1')], SLOT, true],
    ['a nested type: the slot name is not the resource', [ofType('*', 'staging')], SLOT, false],
    [
      'resource with dots and parens',
      [ofType('*', 'a.(b)_c-*')],
      idOf('Microsoft.Storage/storageAccounts', ['a.(b)_c-1']),
      true,
    ],
    [
      'type and resource group together',
      [{ subscription: SUB, resourceGroup: 'rg2', type: '*', resource: '*' }],
      STORAGE,
      false,
    ],
    [
      '"cluster" with the AKS type',
      [{ ...any, type: 'Microsoft.ContainerService/managedClusters', cluster: 'cluster*' }],
      AKS_ID,
      true,
    ],
    [
      '"cluster" with the AKS type in other casing',
      [{ ...any, type: 'microsoft.containerservice/MANAGEDCLUSTERS', cluster: '*' }],
      AKS_ID,
      true,
    ],
    ['no type means AKS: a cluster glob', [{ ...any, cluster: '*' }], AKS_ID, true],
    ['no type means AKS: not a Storage account', [{ ...any, cluster: '*' }], STORAGE, false],
    ['no type means AKS, even with "resource"', [{ ...any, resource: '*' }], AKS_ID, true],
    ['no type means AKS, even with "resource": not Storage', [{ ...any, resource: '*' }], STORAGE, false],
    ['an exact Storage account id', [{ id: resourceIdOf(STORAGE) }], STORAGE, true],
    [
      'an exact Storage account id, its other connections too',
      [{ id: resourceIdOf(STORAGE) }],
      idOf('Microsoft.Storage/storageAccounts', ['storprod1'], 'pe9'),
      true,
    ],
    ['an exact Storage account id, another account', [{ id: resourceIdOf(STORAGE) }], STORAGE_OTHER, false],
    ['an exact id: the same name of another type', [{ id: resourceIdOf(STORAGE) }], VAULT, false],
    ['an exact id in other casing', [{ id: resourceIdOf(STORAGE).toUpperCase() }], STORAGE, true],
    ['an exact slot id', [{ id: resourceIdOf(SLOT) }], SLOT, true],
    ['an exact slot id, another slot', [{ id: resourceIdOf(SLOT) }], OTHER_SLOT, false],
    ['an exact slot id, not its site', [{ id: resourceIdOf(SLOT) }], SITE, false],
    ['an exact site id, not its slots', [{ id: resourceIdOf(SITE) }], SLOT, false],
    ['an exact slot connection id', [{ id: SLOT }], SLOT, true],
    [
      'an exact slot connection id, another connection',
      [{ id: SLOT }],
      idOf('Microsoft.Web/sites/slots', ['site1', 'staging'], 'pe2'),
      false,
    ],
  ])('%s', (_name, targets, id, expected) => {
    expect(covering(targets, id)).toBe(expected);
  });

  it('denies a connection of a type no rule covers, naming its type and resource', () => {
    const policy = policyOf([baseRule]);
    const result = evaluatePolicy(policy, inputOf({ request: { connectionId: SLOT } }));
    expect(result).toMatchObject({ allowed: false, status: 403 });
    expect(result.reasons[0]?.rule).toBe('targets');
    expect(result.reasons[0]?.message).toContain('Microsoft.Web/sites/slots "site1"');
    expect(result.reasons[0]?.message).toContain('resource group "rg1"');
  });

  it('denies an id of a type the app does not know, saying what an id must be', () => {
    const policy = policyOf([{ ...baseRule, targets: [ofType('*')] }]);
    const unknown = idOf('Microsoft.Nope/things', ['x1']);
    const result = evaluatePolicy(policy, inputOf({ request: { connectionId: unknown } }));
    expect(result).toMatchObject({ allowed: false, status: 403 });
    expect(result.reasons[0]?.rule).toBe('targets');
    expect(result.reasons[0]?.message).toContain('known resource type');
  });

  it.each([
    [ofType('Microsoft.Nope/*'), '/rules/0/targets/0/type', 'matches no resource type'],
    [ofType('Microsoft.Storage/blobServices'), '/rules/0/targets/0/type', 'matches no resource type'],
    [
      ofType('Microsoft.ContainerService/managedCluster'),
      '/rules/0/targets/0/type',
      'matches no resource type',
    ],
    [ofType('Microsoft Storage/*'), '/rules/0/targets/0/type', 'Namespace/resourceType'],
    [ofType('Microsoft.Storage/storageAccounts?x=1'), '/rules/0/targets/0/type', 'Namespace/resourceType'],
    [ofType('Microsoft.Storage/*', 'bad/name'), '/rules/0/targets/0/resource', 'resource name or glob'],
    [ofType('Microsoft.Storage/*', 'bad name'), '/rules/0/targets/0/resource', 'resource name or glob'],
    [ofType('Microsoft.Storage/*', 'x'.repeat(261)), '/rules/0/targets/0/resource', 'at most 260'],
    [{ ...any, type: 'Microsoft.Storage/*' }, '/rules/0/targets/0/resource', 'is required'],
    [{ resourceGroup: '*', type: '*', resource: '*' }, '/rules/0/targets/0/subscription', 'is required'],
    [
      { ...any, type: 'Microsoft.Storage/storageAccounts', cluster: '*' },
      '/rules/0/targets/0/cluster',
      'write "resource" for Microsoft.Storage/storageAccounts',
    ],
    [{ ...any, type: '*', cluster: '*' }, '/rules/0/targets/0/cluster', '"cluster" names AKS clusters'],
    [{ ...any, cluster: '*', resource: '*' }, '/rules/0/targets/0', 'not both'],
    [
      { ...any, type: 'Microsoft.ContainerService/managedClusters', cluster: 'c', resource: 'c' },
      '/rules/0/targets/0',
      'not both',
    ],
    [{ id: resourceIdOf(STORAGE), type: 'Microsoft.Storage/*' }, '/rules/0/targets/0', 'found type'],
    [{ id: resourceIdOf(STORAGE), resource: 'x' }, '/rules/0/targets/0', 'found resource'],
    [{ id: resourceIdOf(idOf('Microsoft.Nope/things', ['x1'])) }, '/rules/0/targets/0/id', 'known type'],
    [{ id: `${rg}/Microsoft.Storage/storageAccounts/stor*` }, '/rules/0/targets/0/id', 'for globs'],
    [{ id: `${rg}/Microsoft.Web/sites/site1/slots` }, '/rules/0/targets/0/id', 'exact resource id'],
  ])('refuses target %j at load (%s: %s)', (target, at, message) => {
    const problems = problemsOfPolicy({ version: 1, rules: [{ ...baseRule, targets: [target] }] });
    const problem = problems.find((p) => p.pointer === at);
    expect(problem, JSON.stringify(problems)).toBeDefined();
    expect(problem?.message).toContain(message);
  });

  it('reports every bad field of an entry at once', () => {
    const problems = problemsOfPolicy({
      version: 1,
      rules: [
        {
          ...baseRule,
          targets: [{ subscription: 'x', resourceGroup: 'rg 1', type: 'Microsoft.Nope/x', resource: 'a b' }],
        },
      ],
    });
    expect(problems.map((p) => p.pointer).sort()).toEqual([
      '/rules/0/targets/0/resource',
      '/rules/0/targets/0/resourceGroup',
      '/rules/0/targets/0/subscription',
      '/rules/0/targets/0/type',
    ]);
  });

  it.each([
    [
      { subscription: '*', resourceGroup: 'rg1', cluster: 'c*' },
      'subscription *, resource group rg1, AKS clusters, resource c*',
    ],
    [
      { subscription: SUB, resourceGroup: 'rg-*', type: 'Microsoft.Storage/*', resource: 'stor*' },
      `subscription ${SUB}, resource group rg-*, type Microsoft.Storage/*, resource stor*`,
    ],
    [
      { ...any, type: 'Microsoft.ContainerService/managedClusters', cluster: 'aks-?' },
      'subscription *, resource group *, type Microsoft.ContainerService/managedClusters, resource aks-?',
    ],
    [{ id: resourceIdOf(SLOT) }, resourceIdOf(SLOT)],
    [{ id: SLOT }, SLOT],
  ])('labels %j as %s', (target, label) => {
    const policy = policyOf([{ ...baseRule, targets: [target] }]);
    expect(policy.rules[0]?.targets[0]?.label).toBe(label);
  });
});
