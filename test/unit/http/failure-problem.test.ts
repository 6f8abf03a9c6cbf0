import { describe, expect, it } from 'vitest';
import { failureProblem } from '../../../src/http/failure-problem.js';
import { InstanceBusyError } from '../../../src/model/instance-busy.js';
import { chatReply } from '../../../src/sources/chat-reply.js';

describe('an instance too busy to take the request', () => {
  const error = new InstanceBusyError(5, 70);

  it('is a 503 dependency-unavailable with Retry-After 1, saying nothing was done', () => {
    const failed = failureProblem(error, 'req-1');
    expect(failed.problem).toMatchObject({
      status: 503,
      instance: 'req-1',
      detail:
        'This instance is busy (5 other requests on this connection, 70 in all); nothing was done. Retry after 1 s.',
    });
    expect(failed.problem.type).toMatch(/dependency-unavailable$/);
    expect(failed.headers).toEqual({ 'retry-after': '1' });
    expect(failed.log).toMatchObject({ failed: 'instance-busy' });
  });

  it('reaches a chat user as a message (200), not as an HTTP error the platform would hide', () => {
    const reply = chatReply({ requestId: 'req-2', outcome: { kind: 'failed', error } }, (text) => ({ text }));
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({
      text: expect.stringMatching(
        /^Not applied: This instance is busy .* Retry after 1 s\. \(request req-2\)$/,
      ),
    });
  });
});
