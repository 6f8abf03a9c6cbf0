import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConnectionId } from '../../../src/model/resource-id.js';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import { callContext, EXAMPLE_ID, sandboxArmClient } from '../../support/arm.js';

// Its own file, so its own process: @azure/identity keeps managed identity tokens in a process-wide cache.
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => sandbox?.close());

it('fetches the managed identity token once for many requests, concurrent and sequential', async () => {
  const arm = sandboxArmClient(sandbox);
  const id = parseConnectionId(EXAMPLE_ID);
  expect(sandbox.counts().token).toBe(0);
  await Promise.all(Array.from({ length: 20 }, () => arm.getConnection(id, callContext())));
  for (let i = 0; i < 10; i++) await arm.getConnection(id, callContext());
  expect(sandbox.counts().arm.GET).toBe(30);
  expect(sandbox.counts().token).toBe(1);
});
