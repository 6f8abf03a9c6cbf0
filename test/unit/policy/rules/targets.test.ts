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
