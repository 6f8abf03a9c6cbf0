import { describe, expect, it } from 'vitest';
import { locationOf, pathWithKey } from '../../../src/http/outcome-response.js';

const ID = '3a75812c-f412-850b-8adf-6df16fcf943a';

describe('locationOf', () => {
  it('points at the outcome on the host the request reached, with its function key and nothing else', () => {
    const url = new URL('https://plapp.azurewebsites.net/api/approvals?code=k3y%2B&dryRun=false');
    expect(locationOf(url, ID)).toBe(
      `https://plapp.azurewebsites.net/api/approvals/${ID}/outcome?code=k3y%2B`,
    );
  });

  it('keeps the scheme and port the request came with', () => {
    expect(pathWithKey(new URL('http://127.0.0.1:7071/api/discovery/run'), '/api/discovery')).toBe(
      'http://127.0.0.1:7071/api/discovery',
    );
  });
});
