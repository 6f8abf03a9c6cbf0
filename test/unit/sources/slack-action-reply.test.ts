import { describe, expect, it } from 'vitest';
import { Refusal } from '../../../src/model/refusal.js';
import { slackActionReply } from '../../../src/sources/slack-action-reply.js';

/** The answer to a Slack button click: Slack shows nothing of its body, but shows its own error for a non-200. */

const report = { kind: 'slack' as const, responseUrl: 'https://hooks.slack.com/actions/T1/1/x' };
const failed = (error: Refusal, told = true) => ({
  requestId: 'req-1',
  outcome: { kind: 'failed' as const, error },
  ...(told ? { report } : {}),
});

describe('the answer to a click', () => {
  it('is an empty 200 for a decision refused after the click was accepted (the clicker is told at response_url)', () => {
    for (const kind of ['forbidden', 'in-flight', 'idempotency-key-reused'] as const) {
      const reply = slackActionReply(failed(new Refusal(kind, 'Not now.')));
      expect(reply.status, kind).toBe(200);
      expect(reply.body).toBe('');
    }
  });

  it('is a problem for a refused message (unsigned, replayed, malformed), with the scheme to sign with', () => {
    const replayed = slackActionReply(failed(new Refusal('replayed', 'Seen before.')));
    expect(replayed.status).toBe(401);
    expect(replayed.headers['content-type']).toBe('application/problem+json');
    expect(replayed.headers['www-authenticate']).toBe('Slack-Signature');
    expect(slackActionReply(failed(new Refusal('invalid-request', 'Not a click.'))).status).toBe(400);
  });

  it('is a problem for a refusal with nowhere to tell it (refused before its response_url was read)', () => {
    const reply = slackActionReply(failed(new Refusal('invalid-resource-id', 'Not an id.'), false));
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toBe('application/problem+json');
  });
});
