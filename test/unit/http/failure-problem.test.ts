import { describe, expect, it } from 'vitest';
import { failureProblem } from '../../../src/http/failure-problem.js';
import { problemResponse } from '../../../src/http/problem.js';
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
  it('are listed 20 at most, then counted', () => {
    const errors = Array.from({ length: 25 }, (_, i) => ({
      pointer: `/x${i}`,
      message: 'is not an allowed property',
    }));
    const { problem } = failureProblem(new Refusal('invalid-request', 'bad', { errors }), 'req-1');
    expect(problem.errors).toHaveLength(21);
    expect(problem.errors?.[20]).toEqual({
      pointer: '',
      message: '5 more not listed; fix these and send again',
    });
  });

  it('keep pointers exact, so they resolve in the body, while the JSON text shows nothing invisible', () => {
    const name = 'x\u202ey\u0001z\u007f—';
    const errors = [{ pointer: `/${name}`, message: `is not an allowed property '${name}'` }];
    const response = problemResponse(
      failureProblem(new Refusal('invalid-request', 'bad', { errors }), 'req-1').problem,
    );
    const body = String(response.body);
    for (const hidden of ['\u202e', '\u0001', '\u007f']) expect(body).not.toContain(hidden);
    // application/problem+json names no charset: the body is ASCII, whatever it says.
    expect(body).toMatch(/^[\x20-\x7e]*$/);
    expect(body).toContain('x\\u202ey\\u0001z\\u007f\\u2014');
    const parsed = JSON.parse(body) as { errors: { pointer: string; message: string }[] };
    expect(parsed.errors[0]?.pointer).toBe(`/${name}`);
    expect(parsed.errors[0]?.message).toBe("is not an allowed property 'x\\u{202E}y\\u{0001}z\\u{007F}—'");
  });

  it('cut a pointer too long to show before a whole reference token, at the member holding it', () => {
    const long = 'a'.repeat(300);
    const errors = [
      { pointer: `/outer/${long}`, message: 'is not an allowed property' },
      { pointer: `/${long}`, message: 'is not an allowed property' },
      { pointer: `/outer~1x/${'b'.repeat(250)}/c`, message: 'must be a string' },
    ];
    const { problem } = failureProblem(new Refusal('invalid-request', 'bad', { errors }), 'req-1');
    expect(problem.errors?.map((e) => e.pointer)).toEqual(['/outer', '', `/outer~1x`]);
    expect(problem.errors?.[0]?.message).toContain('its name is too long to show');
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
