import { describe, expect, it } from 'vitest';
import { locationOf, pathWithKey } from '../../../src/http/outcome-response.js';

const ID = 'aaeb06e2-e548-86b9-abc6-5f6e38eff7b1';

describe('locationOf', () => {
  it('points at the outcome on the host the request reached, with its function key and nothing else', () => {
    const url = new URL('https://plapp.azurewebsites.net/api/approvals?code=k3y%2B&dryRun=false');
    expect(locationOf(url, ID)).toBe(
      `https://plapp.azurewebsites.net/api/approvals/${ID}/outcome?code=k3y%2B`,
    );
  });

  it('is https off this machine even when the front end handed the request on as http', () => {
    const url = new URL('http://plapp.azurewebsites.net/api/approvals?code=key');
    expect(locationOf(url, ID)).toBe(`https://plapp.azurewebsites.net/api/approvals/${ID}/outcome?code=key`);
  });

  it('keeps http on a loopback host, where the local host serves it', () => {
    expect(pathWithKey(new URL('http://127.0.0.1:7071/api/discovery/run'), '/api/discovery')).toBe(
      'http://127.0.0.1:7071/api/discovery',
    );
  });
});
