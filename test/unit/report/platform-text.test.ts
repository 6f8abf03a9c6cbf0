import { describe, expect, it } from 'vitest';
import { servicenowLiteral, slackLiteral, teamsLiteral } from '../../../src/report/platform-text.js';

/** A consumer's request message is shown to approvers as text: never a mention, a link or HTML. */

describe('slackLiteral', () => {
  it('escapes the three characters mrkdwn gives meaning to', () => {
    expect(slackLiteral('<!channel> see <https://evil.example|the docs> & more')).toBe(
      '&lt;!channel&gt; see &lt;https://evil.example|the docs&gt; &amp; more',
    );
  });
  it('leaves plain text alone', () => {
    expect(slackLiteral('pe-app on stshared (rg-apps)')).toBe('pe-app on stshared (rg-apps)');
  });
});

describe('teamsLiteral', () => {
  it('breaks markdown links open', () => {
    expect(teamsLiteral('[approve here](https://evil.example)')).toBe(
      '[approve here] (https://evil.example)',
    );
    expect(teamsLiteral('[x]  (y)')).toBe('[x] (y)');
  });
});

describe('servicenowLiteral', () => {
  it('breaks the [code] tag open, in any case', () => {
    expect(servicenowLiteral('[code]<img src=x onerror=alert(1)>[/code]')).toBe(
      '[ code]<img src=x onerror=alert(1)>[/ code]',
    );
    expect(servicenowLiteral('[CoDe]x[/CODE]')).toBe('[ CoDe]x[/ CODE]');
  });
});
