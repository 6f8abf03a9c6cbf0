import type { ConnectionState } from '../model/approval.js';

/** A private endpoint connection from a Resource Manager answer body; undefined when the body is not one. */
export function parseConnection(text: string): ConnectionState | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as {
    id?: unknown;
    name?: unknown;
    properties?: {
      privateLinkServiceConnectionState?: { status?: unknown; description?: unknown };
      provisioningState?: unknown;
      privateEndpoint?: { id?: unknown };
    };
  };
  const state = r.properties?.privateLinkServiceConnectionState;
  if (typeof r.id !== 'string' || typeof state?.status !== 'string') return undefined;
  const out: ConnectionState = {
    id: r.id,
    name: typeof r.name === 'string' ? r.name : (r.id.split('/').pop() ?? ''),
    status: state.status,
  };
  if (typeof state.description === 'string') out.description = state.description;
  if (typeof r.properties?.provisioningState === 'string')
    out.provisioningState = r.properties.provisioningState;
  if (typeof r.properties?.privateEndpoint?.id === 'string')
    out.privateEndpointId = r.properties.privateEndpoint.id;
  return out;
}
