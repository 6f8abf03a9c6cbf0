import { describe, expect, it } from 'vitest';
import {
  INSTANCE_CLOCK_SKEW_SECONDS,
  MAX_TIMESTAMP_TOLERANCE_SECONDS,
  REPLAY_TTL_SECONDS,
} from '../../../src/auth/replay-guard.js';
import { SLACK_DEFAULT_TOLERANCE_SECONDS } from '../../../src/auth/slack-signature.js';
import { STANDARD_WEBHOOKS_DEFAULT_TOLERANCE_SECONDS } from '../../../src/auth/standard-webhooks.js';
import { TEAMS_TIMESTAMP_TOLERANCE_SECONDS } from '../../../src/auth/teams-signature.js';

describe('replay marks outlive every message they guard', () => {
  it('covers the widest timestamp window on both sides of the clock, plus the skew between instances', () => {
    for (const tolerance of [
      STANDARD_WEBHOOKS_DEFAULT_TOLERANCE_SECONDS,
      SLACK_DEFAULT_TOLERANCE_SECONDS,
      TEAMS_TIMESTAMP_TOLERANCE_SECONDS,
    ]) {
      // A message stamped `tolerance` in the future stays acceptable until 2 × tolerance after it arrives.
      expect(REPLAY_TTL_SECONDS).toBeGreaterThanOrEqual(2 * tolerance + INSTANCE_CLOCK_SKEW_SECONDS);
    }
    expect(MAX_TIMESTAMP_TOLERANCE_SECONDS).toBe(300);
  });
});
