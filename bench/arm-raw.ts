import type { Agent } from 'node:https';
import { send } from './http-client.js';

/**
 * The two Resource Manager calls an approval cannot do without, made as plainly as possible: GET the
 * connection, then PUT it Approved, over a keep-alive node:https agent with a bearer token fetched once. Shared
 * by the raw ARM row (a) and the floor server (l), so both pay exactly the same for them.
 */

/** The AKS row's api-version in the provider registry (src/model/provider-registry.ts). */
export const ARM_API_VERSION = '2025-01-01';
const statusBody = (status: string): string =>
  JSON.stringify({ properties: { privateLinkServiceConnectionState: { status } } });
const APPROVE_BODY = statusBody('Approved');

export class RawArmError extends Error {
  override readonly name = 'RawArmError';
}

export interface RawArmTarget {
  armEndpoint: string;
  token: string;
  agent: Agent;
}

/** GET then PUT Approved; resolves with the status the GET saw, rejects on anything but two 200s. */
export async function getThenPut(target: RawArmTarget, connectionId: string): Promise<string> {
  const url = `${target.armEndpoint}${connectionId}?api-version=${ARM_API_VERSION}`;
  const headers = { authorization: `Bearer ${target.token}`, accept: 'application/json' };
  const got = await send({ method: 'GET', url, headers, agent: target.agent });
  if (got.status !== 200) throw new RawArmError(`GET ${got.status} ${got.text}`);
  const put = await send({
    method: 'PUT',
    url,
    headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
    body: APPROVE_BODY,
    agent: target.agent,
  });
  if (put.status !== 200) throw new RawArmError(`PUT ${put.status} ${put.text}`);
  const before = JSON.parse(got.text) as {
    properties?: { privateLinkServiceConnectionState?: { status?: string } };
  };
  return before.properties?.privateLinkServiceConnectionState?.status ?? 'unknown';
}

/** Sets a connection's status outside the app (one PUT), e.g. to give a request a state to meet. */
export async function putStatus(target: RawArmTarget, connectionId: string, status: string): Promise<void> {
  const put = await send({
    method: 'PUT',
    url: `${target.armEndpoint}${connectionId}?api-version=${ARM_API_VERSION}`,
    headers: {
      authorization: `Bearer ${target.token}`,
      accept: 'application/json',
      'content-type': 'application/json; charset=utf-8',
    },
    body: statusBody(status),
    agent: target.agent,
  });
  if (put.status !== 200) throw new RawArmError(`PUT ${put.status} ${put.text}`);
}
