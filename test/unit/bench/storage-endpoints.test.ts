import { describe, expect, it } from 'vitest';
import { ConnectionStringError, storageEndpoint, withEndpoints } from '../../../bench/storage-endpoints.js';

const AZURITE =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5==;' +
  'TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;';

describe('storage endpoints in a connection string', () => {
  it('reads an endpoint, keeping a key that ends in =', () => {
    expect(storageEndpoint(AZURITE, 'TableEndpoint').href).toBe('http://127.0.0.1:10002/devstoreaccount1');
    expect(() => storageEndpoint('AccountName=x;', 'QueueEndpoint')).toThrow(ConnectionStringError);
  });

  it('points the named endpoints elsewhere, keeping the account path and everything else', () => {
    const proxied = withEndpoints(AZURITE, { TableEndpoint: 'http://127.0.0.1:4000' });
    expect(proxied).toBe(
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5==;' +
        'TableEndpoint=http://127.0.0.1:4000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;',
    );
  });
});
