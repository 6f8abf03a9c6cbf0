import { TableClient } from '@azure/data-tables';
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startAzuriteTable } from '../../../dev/azurite.js';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('dev/azurite', () => {
  it('starts a Table service on a free port that the SDK can use, and stops it', async () => {
    const azurite = await startAzuriteTable();
    try {
      expect(azurite.connectionString).toContain(
        `TableEndpoint=http://127.0.0.1:${azurite.port}/devstoreaccount1`,
      );
      const client = TableClient.fromConnectionString(azurite.connectionString, 'probe', {
        allowInsecureConnection: true,
      });
      await client.createTable();
      await client.createEntity({ partitionKey: 'p', rowKey: 'r', value: 1 });
      expect((await client.getEntity('p', 'r')).value).toBe(1);
    } finally {
      await azurite.stop();
    }
    expect(await accepts(azurite.port)).toBe(false);
    // stop() is idempotent.
    await azurite.stop();
  });
});
