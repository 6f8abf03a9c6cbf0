import { describe, expect, it } from 'vitest';
import { createPeople } from '../../../src/discovery/people.js';
import { createLogger } from '../../../src/logger.js';
import type { ConnectionState } from '../../../src/model/approval.js';
import { parseConnectionId } from '../../../src/model/resource-id.js';
import { ReportError } from '../../../src/report/outbound.js';

const TARGET = parseConnectionId(
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/pe1',
);
const STATE: ConnectionState = { id: '', name: 'pe1', status: 'Pending' };

function logged(): { lines: Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    now: () => 0,
    sink: (_level, line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { lines, logger };
}

describe('discovery.ask-failed', () => {
  it("names the platform's status and Retry-After when Slack refuses with a 429", async () => {
    const { lines, logger } = logged();
    const post = () => Promise.reject(new ReportError('Slack chat.postMessage failed: 429', 429, 30_000));
    const people = createPeople({ slack: { post, channel: 'C1' }, logger });
    await expect(people.ask(TARGET, STATE, { correlationId: 'pla-test' })).rejects.toThrow(
      'no channel could be asked',
    );
    expect(lines.find((l) => l.event === 'discovery.ask-failed')).toMatchObject({
      channel: 'slack',
      status: 429,
      retryAfterMs: 30_000,
    });
  });

  it('writes neither when the failure is not an answer from the platform', async () => {
    const { lines, logger } = logged();
    const post = () => Promise.reject(new Error('socket hang up'));
    const people = createPeople({ slack: { post, channel: 'C1' }, logger });
    await expect(people.ask(TARGET, STATE, { correlationId: 'pla-test' })).rejects.toThrow();
    const line = lines.find((l) => l.event === 'discovery.ask-failed');
    expect(line).toMatchObject({ channel: 'slack', error: 'socket hang up' });
    expect(line).not.toHaveProperty('status');
    expect(line).not.toHaveProperty('retryAfterMs');
  });
});
