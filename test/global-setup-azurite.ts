import type { TestProject } from 'vitest/node';
import { startAzurite } from '../dev/azurite.js';

/**
 * vitest globalSetup: one Azurite (Table and Queue services, in memory, free ports) for the whole run.
 * Tests read its connection string with `inject('azuriteTableConnectionString')`; child processes started by
 * tests (e2e hosts) get it from the AZURITE_TABLE_CONNECTION_STRING environment variable.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteTableConnectionString: string;
  }
}

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide('azuriteTableConnectionString', azurite.connectionString);
  process.env.AZURITE_TABLE_CONNECTION_STRING = azurite.connectionString;
  return async () => {
    delete process.env.AZURITE_TABLE_CONNECTION_STRING;
    await azurite.stop();
  };
}
