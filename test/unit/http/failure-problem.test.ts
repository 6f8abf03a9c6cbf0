import { describe, expect, it } from 'vitest';
import { failureProblem } from '../../../src/http/failure-problem.js';
import { ArmError } from '../../../src/arm/arm-errors.js';
import { InstanceBusyError } from '../../../src/model/instance-busy.js';
import { Refusal } from '../../../src/model/refusal.js';
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
    const reply = chatReply(
      { requestId: 'req-2', outcome: { kind: 'failed', error } },
      (text) => ({ text }),
      'HMAC',
    );
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({
      text: expect.stringMatching(
        /^Not applied: This instance is busy .* Retry after 1 s\. \(request req-2\)$/,
      ),
    });
  });
});

describe('a 401', () => {
  it("names a scheme the route takes in WWW-Authenticate: the refusal's own, else the route's", () => {
    const bare = new Refusal('unauthenticated', 'No matching signature.');
    expect(failureProblem(bare, 'r').headers['www-authenticate']).toBe('Bearer');
    expect(failureProblem(bare, 'r', 'HMAC').headers['www-authenticate']).toBe('HMAC');
    const replayed = new Refusal('replayed', 'Seen before.');
    expect(failureProblem(replayed, 'r', 'Slack-Signature').headers['www-authenticate']).toBe(
      'Slack-Signature',
    );
    const token = new Refusal('unauthenticated', 'Expired.', { challenge: 'Bearer error="invalid_token"' });
    expect(failureProblem(token, 'r', 'HMAC').headers['www-authenticate']).toBe(
      'Bearer error="invalid_token"',
    );
    expect(failureProblem(new Refusal('forbidden', 'No.'), 'r').headers['www-authenticate']).toBeUndefined();
  });
});

describe('field errors in a problem', () => {
  it('are listed 20 at most, then counted, with pointers bounded and invisible characters escaped', () => {
    const errors = Array.from({ length: 25 }, (_, i) => ({
      pointer: `/x${i}\u202e${'a'.repeat(300)}`,
      message: 'is not an allowed property',
    }));
    const { problem } = failureProblem(new Refusal('invalid-request', 'bad', { errors }), 'req-1');
    expect(problem.errors).toHaveLength(21);
    expect(problem.errors?.[20]).toEqual({
      pointer: '',
      message: '5 more not listed; fix these and send again',
    });
    const first = problem.errors?.[0]?.pointer ?? '';
    expect(first).not.toContain('\u202e');
    expect(first.length).toBeLessThan(300);
  });
});

describe('Resource Manager refusing the request', () => {
  const refused = (status: number, code: string): string =>
    failureProblem(new ArmError(status, { code, message: 'm' }, 'arm-1', 'corr-1'), 'req-3').problem.detail ??
    '';

  it('tells the operator where the missing permission is: this resource, a linked scope, or the token itself', () => {
    expect(refused(403, 'AuthorizationFailed')).toContain('holds the approver role on this resource');
    const linked = refused(403, 'LinkedAuthorizationFailed');
    expect(linked).toContain('linked scope');
    expect(linked).not.toContain('on this resource (');
    expect(refused(401, 'InvalidAuthenticationToken')).toContain('managed identity');
    expect(refused(400, 'BadRequest')).toContain('see its message');
  });
});
