import { describe, expect, it } from 'vitest';
import { connectionUrl } from '../../../src/arm/connection-url.js';
import { AKS, PROVIDERS } from '../../../src/model/provider-registry.js';
import {
  formatConnectionId,
  InvalidResourceIdError,
  UnknownResourceTypeError,
  parseResourceOrConnectionId,
  parseConnectionId,
  parsePrivateEndpointId,
  sameConnection,
  tryParseConnectionId,
} from '../../../src/model/resource-id.js';

const SUB = '00000000-0000-0000-0000-000000000000';
const base = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections`;
const example = `${base}/privateendpointconnection1`;

describe('parseConnectionId', () => {
  it('parses the spec example', () => {
    expect(parseConnectionId(example)).toEqual({
      subscriptionId: SUB,
      resourceGroup: 'rg1',
      provider: AKS,
      names: ['clustername1'],
      connection: 'privateendpointconnection1',
    });
  });

  it('accepts the fixed segments in any casing, as ARM does', () => {
    const odd = `/SUBSCRIPTIONS/${SUB}/resourcegroups/rg1/PROVIDERS/microsoft.containerservice/MANAGEDCLUSTERS/c1/privateendpointconnections/pe.1`;
    expect(parseConnectionId(odd).names).toEqual(['c1']);
  });

  it('accepts names at the limits of the spec patterns', () => {
    const rg = 'a'.repeat(90);
    const cluster = `a${'-'.repeat(61)}b`;
    const id = `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/${cluster}/privateEndpointConnections/x`;
    expect(parseConnectionId(id)).toMatchObject({ resourceGroup: rg, names: [cluster] });
    expect(parseConnectionId(example.replace('rg1', 'my-rg_(1).prod')).resourceGroup).toBe('my-rg_(1).prod');
    expect(parseConnectionId(example.replace('clustername1', 'c')).names).toEqual(['c']);
  });

  const hostile: [string, unknown][] = [
    ['not a string', 42],
    ['empty', ''],
    ['a URL', `https://management.azure.com${example}`],
    ['a scheme-relative URL', `//evil.example${example}`],
    ['a query', `${example}?api-version=2019-01-01`],
    ['a fragment', `${example}#x`],
    ['percent-encoding', `${base}/a%2Fb`],
    ['an encoded traversal', `${base}/%2e%2e`],
    ['a backslash', `${base}/a\\b`],
    ['whitespace', `${base}/a b`],
    ['a tab', `${base}/a\tb`],
    ['a newline (log injection)', `${base}/a\nb`],
    ['a NUL', `${base}/a\u0000b`],
    ['a dot segment', `${base}/.`],
    ['a dot-dot segment', `${base}/..`],
    [
      'traversal in the middle',
      `/subscriptions/${SUB}/resourceGroups/rg1/../rg2/providers/Microsoft.ContainerService/managedClusters/c/privateEndpointConnections/x`,
    ],
    ['a trailing slash', `${example}/`],
    ['a double slash', example.replace('/providers', '//providers')],
    ['a missing connection name', base],
    ['an extra segment', `${example}/extra`],
    ['no leading slash', example.slice(1)],
    ['a non-UUID subscription', example.replace(SUB, 'subid2')],
    ['another provider', example.replace('Microsoft.ContainerService', 'Microsoft.Network')],
    ['another resource type', example.replace('managedClusters', 'privateLinkServices')],
    ['another child type', example.replace('privateEndpointConnections', 'agentPools')],
    ['a resource group over 90 chars', example.replace('rg1', 'a'.repeat(91))],
    ['a resource group ending in a dot', example.replace('rg1', 'rg1.')],
    ['a resource group with a slash-like char', example.replace('rg1', 'rg*1')],
    ['a cluster over 63 chars', example.replace('clustername1', 'a'.repeat(64))],
    ['a cluster starting with a dash', example.replace('clustername1', '-abc')],
    ['a cluster ending with an underscore', example.replace('clustername1', 'abc_')],
    ['a cluster with a dot', example.replace('clustername1', 'a.b')],
    ['an over-long id', `${base}/${'a'.repeat(1100)}`],
    ['a right-to-left override', `${base}/evil\u202e1noitcennoc`],
    ['a zero-width space', `${base}/pe\u200bpending`],
    ['a left-to-right mark', `${base}/pe\u200epending`],
    ['a byte-order mark', `${base}/\ufeffpe`],
    ['a fullwidth solidus', `${base}/pe\uff0fpending`],
    ['a division slash', `${base}/pe\u2215pending`],
    ['a fraction slash', `${base}/pe\u2044pending`],
    ['a line separator', `${base}/pe\u2028x`],
  ];

  it.each(hostile)('refuses %s', (_label, input) => {
    expect(() => parseConnectionId(input)).toThrow(InvalidResourceIdError);
  });
});

describe('messages never show what they refuse', () => {
  it('names an invisible character by its escape', () => {
    expect(() => parseConnectionId(`${base}/evil\u202e1`)).toThrow(/\\u\{202E\}/);
    try {
      parseConnectionId(`${base}/evil\u202e1`);
    } catch (error) {
      expect((error as Error).message).not.toContain('\u202e');
    }
  });
});

describe('the other ids the app reads', () => {
  // As the AKS examples spell it in responses.
  const armSpelling = `/subscriptions/${SUB}/resourcegroups/rg1/providers/Microsoft.ContainerService/managedCluster/clustername1/privateEndpointConnections/privateendpointconnection1`;

  it('accepts the casing and singular type Resource Manager answers with', () => {
    const a = parseConnectionId(example);
    const b = parseConnectionId(armSpelling);
    expect(sameConnection(a, b)).toBe(true);
    expect(tryParseConnectionId('/subscriptions/nope')).toBeUndefined();
  });

  it('parses a resource id or a connection id for exact policy targets', () => {
    const cluster = example.split('/privateEndpointConnections')[0];
    expect(parseResourceOrConnectionId(cluster)).toEqual({
      resource: { subscriptionId: SUB, resourceGroup: 'rg1', provider: AKS, names: ['clustername1'] },
    });
    expect(parseResourceOrConnectionId(example)?.connection).toBe('privateendpointconnection1');
    expect(parseResourceOrConnectionId(`/subscriptions/${SUB}`)).toBeUndefined();
  });

  it('parses private endpoint ids, including the non-UUID subscription in the spec examples', () => {
    expect(
      parsePrivateEndpointId(
        '/subscriptions/subid2/resourceGroups/rg2/providers/Microsoft.Network/privateEndpoints/pe2',
      ),
    ).toEqual({ subscriptionId: 'subid2', resourceGroup: 'rg2', privateEndpoint: 'pe2' });
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
    expect(
      parsePrivateEndpointId(
        '/subscriptions/s/resourceGroups/rg2/providers/Microsoft.Network/privateEndpoints/p\u202e',
      ),
    ).toBeUndefined();
  });
});

describe('every registry type', () => {
  const id = (type: string, connection = 'pe1'): string => {
    const [namespace, ...types] = type.split('/');
    const pairs = types.map((t, i) => `/${t}/name${i}`).join('');
    return `/subscriptions/${SUB}/resourceGroups/rg1/providers/${namespace}${pairs}/privateEndpointConnections/${connection}`;
  };

  it.each(PROVIDERS.map((p) => [p.type, p] as const))('parses and formats %s', (type, provider) => {
    const parsed = parseConnectionId(id(type).toUpperCase().replace(SUB.toUpperCase(), SUB));
    expect(parsed.provider).toBe(provider);
    expect(parsed.names).toHaveLength(type.split('/').length - 1);
    expect(formatConnectionId(parsed).toLowerCase()).toBe(id(type).toLowerCase());
    const url = new URL(connectionUrl('https://management.azure.com', parsed));
    expect(url.searchParams.get('api-version')).toBe(provider.apiVersion);
  });

  it('refuses a well-formed id of a type the registry does not hold, naming how to add one', () => {
    const unknown = id('Microsoft.Contoso/widgets');
    expect(() => parseConnectionId(unknown)).toThrow(UnknownResourceTypeError);
    expect(() => parseConnectionId(unknown)).toThrow(/Microsoft\.Contoso\/widgets.*provider-registry/);
  });

  it('refuses a nested type given without its child, and a child of a type that has none', () => {
    expect(() =>
      parseConnectionId(id('Microsoft.Web/sites').replace('/sites/name0', '/sites/name0/slots')),
    ).toThrow(InvalidResourceIdError);
    expect(() => parseConnectionId(id('Microsoft.Storage/storageAccounts/blobs'))).toThrow(
      UnknownResourceTypeError,
    );
  });
});

describe('connectionUrl', () => {
  it('builds the spec path under the configured endpoint with the api-version', () => {
    expect(connectionUrl('https://management.azure.com', parseConnectionId(example))).toBe(
      `https://management.azure.com${example}?api-version=2025-01-01`,
    );
  });

  it('percent-encodes every segment and never takes the host from input', () => {
    const id = {
      subscriptionId: SUB,
      resourceGroup: 'rg(1)',
      provider: AKS,
      names: ['c'],
      connection: 'pe.x@evil.example:443',
    };
    const url = new URL(connectionUrl('https://arm.local:8443', id));
    expect(url.host).toBe('arm.local:8443');
    expect(url.pathname.endsWith('/privateEndpointConnections/pe.x%40evil.example%3A443')).toBe(true);
    expect(url.search).toBe('?api-version=2025-01-01');
  });
});

describe('comparison', () => {
  it('treats ids that differ only in casing as the same connection', () => {
    const a = parseConnectionId(example);
    const b = parseConnectionId(example.toUpperCase().replace(SUB.toUpperCase(), SUB));
    expect(formatConnectionId(a).toLowerCase()).toBe(formatConnectionId(b).toLowerCase());
    expect(formatConnectionId(a)).toBe(example);
  });
});
