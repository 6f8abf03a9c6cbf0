import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Azurite (Table service, in memory) for the run; integration and e2e tests use it, never a fake.
    globalSetup: ['test/global-setup-generate.ts', 'test/global-setup-azurite.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file in its own process: @azure/identity caches managed identity tokens process-wide.
    pool: 'forks',
  },
});
