import type { SecretProvider } from '../secrets/secret-provider.js';
import type { Outbound } from './outbound.js';
import { ReportError } from './outbound.js';
import { servicenowLiteral } from './platform-text.js';

/**
 * Writes a work note onto the ServiceNow record a request came from, through the Table API
 * (`PATCH /api/now/table/{table}/{sys_id}`), on the one instance the configuration names. Credentials live in Key
 * Vault as JSON: `{"clientId","clientSecret"}` for OAuth client credentials (token from `/oauth_token.do`), or
 * `{"username","password"}` for basic authentication on instances without OAuth.
 */

export interface ServiceNowWriterOptions {
  instanceUrl: string;
  table: string;
  credentialsSecretName: string;
  secrets: SecretProvider;
  http: Outbound;
  now: () => number;
  timeoutMs?: number;
}

export type WorkNoteWriter = (sysId: string, note: string) => Promise<void>;

/** Creates a record on the table (discovery asking people); answers its sys_id. */
export type RecordCreator = (fields: Record<string, string>) => Promise<string>;

export interface ServiceNowClient {
  workNote: WorkNoteWriter;
  createRecord: RecordCreator;
}

type Credentials = { clientId: string; clientSecret: string } | { username: string; password: string };

const SYS_ID = /^[0-9a-f]{32}$/;

export function createServiceNowWriter(options: ServiceNowWriterOptions): WorkNoteWriter {
  return createServiceNowClient(options).workNote;
}

/** Work notes and new records on the configured table, with one set of credentials (and one cached token). */
export function createServiceNowClient(options: ServiceNowWriterOptions): ServiceNowClient {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let token: { value: string; until: number } | undefined;

  const authorization = async (): Promise<string> => {
    const credentials = await readCredentials(options);
    if ('username' in credentials) {
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
    }
    if (token !== undefined && token.until > options.now()) return `Bearer ${token.value}`;
    token = await fetchToken(options, credentials, timeoutMs);
    return `Bearer ${token.value}`;
  };

  const table = `${options.instanceUrl}/api/now/table/${encodeURIComponent(options.table)}`;
  const headers = async (): Promise<Record<string, string>> => ({
    accept: 'application/json',
    'content-type': 'application/json',
    authorization: await authorization(),
  });
  const createRecord: RecordCreator = async (fields) => {
    const response = await options.http({
      method: 'POST',
      url: table,
      headers: await headers(),
      body: JSON.stringify(
        Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, servicenowLiteral(value)])),
      ),
      timeoutMs,
    });
    if (response.status === 401) token = undefined;
    const sysId = recordSysId(response.text);
    if (response.status !== 201 || sysId === undefined) {
      throw new ReportError(
        `ServiceNow answered ${response.status} to a new record on ${options.table}`,
        response.status,
        response.retryAfterMs,
      );
    }
    return sysId;
  };
  const workNote: WorkNoteWriter = async (sysId, note) => {
    if (!SYS_ID.test(sysId)) throw new ReportError('the ServiceNow sys_id is not 32 hex digits');
    const response = await options.http({
      method: 'PATCH',
      url: `${table}/${sysId}`,
      headers: await headers(),
      body: JSON.stringify({ work_notes: servicenowLiteral(note) }),
      timeoutMs,
    });
    if (response.status === 401) token = undefined;
    if (response.status < 200 || response.status >= 300) {
      throw new ReportError(
        `ServiceNow answered ${response.status} to the work note on ${options.table}/${sysId}`,
        response.status,
        response.retryAfterMs,
      );
    }
  };
  return { workNote, createRecord };
}

/** `{"result":{"sys_id":"…"}}`, as the Table API answers a POST. */
function recordSysId(text: string): string | undefined {
  try {
    const sysId = (JSON.parse(text) as { result?: { sys_id?: unknown } }).result?.sys_id;
    return typeof sysId === 'string' && SYS_ID.test(sysId) ? sysId : undefined;
  } catch {
    return undefined;
  }
}

async function readCredentials(options: ServiceNowWriterOptions): Promise<Credentials> {
  const [value] = await options.secrets.getSecretValues(options.credentialsSecretName);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value ?? '');
  } catch {
    parsed = undefined;
  }
  const c = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (typeof c.clientId === 'string' && typeof c.clientSecret === 'string') {
    return { clientId: c.clientId, clientSecret: c.clientSecret };
  }
  if (typeof c.username === 'string' && typeof c.password === 'string') {
    return { username: c.username, password: c.password };
  }
  throw new ReportError(
    `Key Vault secret ${options.credentialsSecretName} must be JSON {"clientId","clientSecret"} or {"username","password"}`,
  );
}

async function fetchToken(
  options: ServiceNowWriterOptions,
  credentials: { clientId: string; clientSecret: string },
  timeoutMs: number,
): Promise<{ value: string; until: number }> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: credentials.clientId,
    client_secret: credentials.clientSecret,
  });
  const response = await options.http({
    method: 'POST',
    url: `${options.instanceUrl}/oauth_token.do`,
    headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    timeoutMs,
  });
  let body: { access_token?: unknown; expires_in?: unknown } = {};
  try {
    body = JSON.parse(response.text) as typeof body;
  } catch {
    // handled below
  }
  if (response.status !== 200 || typeof body.access_token !== 'string') {
    // No status: wrong credentials (400 from the token endpoint) are fixed in Key Vault, and then tried again.
    throw new ReportError(
      `ServiceNow's OAuth token endpoint answered ${response.status} without a token`,
      undefined,
      response.retryAfterMs,
    );
  }
  const lifetime = typeof body.expires_in === 'number' ? body.expires_in : 1800;
  // Renewed a minute early, so a token never expires between our read and ServiceNow's check.
  return { value: body.access_token, until: options.now() + Math.max(0, lifetime - 60) * 1000 };
}
