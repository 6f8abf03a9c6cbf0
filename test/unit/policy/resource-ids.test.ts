import { describe, expect, it } from 'vitest';
import {
  parseClusterOrConnectionId,
  parseConnectionId,
  parsePrivateEndpointId,
  sameConnection,
} from '../../../src/policy/resource-ids.js';

const SUB = '00000000-0000-0000-0000-000000000000';
const CONN = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/privateendpointconnection1`;
// As the AKS examples spell it in responses.
const ARM_SPELLING = `/subscriptions/${SUB}/resourcegroups/rg1/providers/Microsoft.ContainerService/managedCluster/clustername1/privateEndpointConnections/privateendpointconnection1`;

describe('policy resource ids', () => {
  it('parses a connection id', () => {
    expect(parseConnectionId(CONN)).toEqual({
      subscription: SUB,
      resourceGroup: 'rg1',
      cluster: 'clustername1',
      connection: 'privateendpointconnection1',
    });
  });

  it('accepts the casing and singular type Resource Manager answers with', () => {
    const a = parseConnectionId(CONN);
    const b = parseConnectionId(ARM_SPELLING);
    expect(b).toBeDefined();
    expect(a && b && sameConnection(a, b)).toBe(true);
    expect(parseConnectionId(CONN.toUpperCase())).toBeDefined();
  });

  it.each([
    ['empty', ''],
    ['not a string', 42],
    ['no leading slash', CONN.slice(1)],
    ['protocol-relative', `/${CONN}`],
    ['query', `${CONN}?api-version=1`],
    ['fragment', `${CONN}#x`],
    ['percent escape', CONN.replace('rg1', 'rg%31')],
    ['backslash', CONN.replace('rg1', 'rg\\1')],
    ['whitespace', CONN.replace('rg1', 'rg 1')],
    ['control character', CONN.replace('rg1', 'rg\u00001')],
    ['empty segment', CONN.replace('/rg1/', '//')],
    ['dot segment', CONN.replace('/rg1/', '/./')],
    ['dot-dot segment', CONN.replace('/rg1/', '/../')],
    ['trailing slash', `${CONN}/`],
    ['extra segment', `${CONN}/extra`],
    ['wrong provider', CONN.replace('Microsoft.ContainerService', 'Microsoft.Network')],
    ['wrong child type', CONN.replace('privateEndpointConnections', 'agentPools')],
    ['cluster only', CONN.split('/privateEndpointConnections')[0]],
  ])('refuses %s', (_name, id) => {
    expect(parseConnectionId(id)).toBeUndefined();
  });

  it('parses a cluster id or a connection id for exact targets', () => {
    const cluster = CONN.split('/privateEndpointConnections')[0];
    expect(parseClusterOrConnectionId(cluster)).toEqual({
      cluster: { subscription: SUB, resourceGroup: 'rg1', cluster: 'clustername1' },
    });
    expect(parseClusterOrConnectionId(CONN)?.connection).toBe('privateendpointconnection1');
    expect(parseClusterOrConnectionId(`/subscriptions/${SUB}`)).toBeUndefined();
  });

  it('parses private endpoint ids, including the non-UUID subscription in the spec examples', () => {
    expect(
      parsePrivateEndpointId(
        '/subscriptions/subid2/resourceGroups/rg2/providers/Microsoft.Network/privateEndpoints/pe2',
      ),
    ).toEqual({ subscription: 'subid2', resourceGroup: 'rg2', privateEndpoint: 'pe2' });
    expect(
      parsePrivateEndpointId(
        '/subscriptions/s/resourcegroups/rg2/providers/microsoft.network/privateendpoints/pe2',
      ),
    ).toBeDefined();
    expect(
      parsePrivateEndpointId(
        '/subscriptions/s/resourceGroups/rg2/providers/Microsoft.Network/networkInterfaces/n',
      ),
    ).toBeUndefined();
    expect(parsePrivateEndpointId(undefined)).toBeUndefined();
  });
});
