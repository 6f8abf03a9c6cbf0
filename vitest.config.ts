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
    // Vitest's default is one worker fewer than the cores: one on CI's two-core machine. Most files wait on
    // sockets, leases and timers rather than the CPU, so two workers halve the run (325 s to 173 s here).
    maxWorkers: 2,
  },
});
