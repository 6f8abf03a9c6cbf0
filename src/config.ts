import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateEnv } from './generated/env-validator.js';
import { settingProblem } from './config-hints.js';
import { isLoopbackUrl } from './loopback.js';
import { PROVIDERS, providerOf } from './model/provider-registry.js';
import { isUuid } from './model/uuid.js';

/**
 * The only place that reads the environment. Everything below the composition root receives a typed,
 * validated `Config`, so every step can be pointed at local stand-ins in tests.
 */

export interface ArmConfig {
  endpoint: string;
  scope: string;
  /** Overall budget for one approval's ARM calls, retries included. */
  deadlineMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Between polls of a long-running operation when Resource Manager names no Retry-After. */
  pollIntervalMs: number;
  /** Registry types this deployment may act on (its role grants exactly these); others are refused with 403. */
  enabledTypes: readonly string[];
}

export interface IdentityConfig {
  /** Client id of a user-assigned managed identity; undefined means system-assigned. */
  managedIdentityClientId?: string;
  /** `managed-identity` in Azure; `azure-cli` for a developer running locally against real Azure. */
  credential: 'managed-identity' | 'azure-cli';
}

export interface EntraConfig {
  tenantId?: string;
  audience?: string;
  authorityHost: string;
  allowedTenants: string[];
  allowedCallers: string[];
  requiredRole?: string;
}

export interface SecretsConfig {
  keyVaultUrl?: string;
  names: { generic: string; servicenow: string; teams: string; slack: string };
  cacheTtlSeconds: number;
}

export interface StorageConfig {
  connectionString?: string;
  tableServiceUri?: string;
  queueServiceUri?: string;
  accountName?: string;
  tablePrefix: string;
  idempotencyTtlHours: number;
  /** How long a request without an Idempotency-Key counts as "the same" when repeated (a caller's own retry). */
  derivedKeyTtlMinutes: number;
  /** Also the connection lease: how long one decision may hold a connection before another takes over. */
  claimLeaseSeconds: number;
  /** Where records wait locally when storage cannot take them. */
  auditSpoolDir: string;
  auditSpoolFlushSeconds: number;
  /** NCRONTAB of the clean-up of expired replay marks and idempotency records. */
  retentionSchedule: string;
}

/** Work that cannot finish while the caller waits continues from a queue (docs/architecture.md). */
export interface AsyncConfig {
  /** The longest a caller waits before the answer turns into 202 / "working on it". */
  syncBudgetMs: number;
  /** How long accepted work keeps being retried before it ends failed. */
  maxAgeMs: number;
  /** Backoff between attempts from the queue: base and cap. */
  retryBaseMs: number;
  retryMaxMs: number;
}

/** Where late outcomes are reported: ServiceNow work notes, Slack response_url, a Teams Workflows webhook. */
export interface ReportConfig {
  servicenowInstanceUrl?: string;
  servicenowCredentialsSecretName: string;
  servicenowTable: string;
  slackResponseUrlHosts: string[];
  teamsWorkflowUrlSecretName: string;
}

/** The scan for Pending connections, and where it asks people (docs/discovery.md). Off without scopes. */
export interface DiscoveryConfig {
  subscriptions: string[];
  managementGroups: string[];
  schedule: string;
  remindAfterMs: number;
  /** How long one scan acts on what it found (DISCOVERY_SCAN_BUDGET_SECONDS). */
  scanBudgetMs: number;
  /** ServiceNow record fields, each a template over {connectionId}, {connection}, {resource}, {type},
   * {resourceGroup}, {subscription}, {privateEndpointId}, {description}. */
  servicenowFields: Record<string, string>;
  /** The Slack channel asked (chat.postMessage with Approve / Reject buttons); none: Slack is not asked. */
  slackChannel?: string;
  slackBotTokenSecretName: string;
  slackApiUrl: string;
}

export interface Config {
  arm: ArmConfig;
  identity: IdentityConfig;
  entra: EntraConfig;
  secrets: SecretsConfig;
  storage: StorageConfig;
  async: AsyncConfig;
  report: ReportConfig;
  discovery: DiscoveryConfig;
  policyPath: string;
  port: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** The settings and their shapes; build/generate-validators.mjs compiles it into src/generated/env-validator.ts. */
export const envSchema = {
  type: 'object',
  properties: {
    ARM_ENDPOINT: { type: 'string', pattern: '^https://[^/?#\\s]+/?$' },
    ARM_SCOPE: { type: 'string', minLength: 1 },
    ARM_DEADLINE_MS: { type: 'string', pattern: '^[1-9][0-9]{2,6}$' },
    ARM_MAX_RETRIES: { type: 'string', pattern: '^[0-9]{1,2}$' },
    ARM_RETRY_BASE_DELAY_MS: { type: 'string', pattern: '^[0-9]{1,6}$' },
    ARM_RETRY_MAX_DELAY_MS: { type: 'string', pattern: '^[0-9]{1,6}$' },
    ARM_POLL_INTERVAL_MS: { type: 'string', pattern: '^[1-9][0-9]{1,5}$' },
    ENABLED_RESOURCE_TYPES: { type: 'string', minLength: 1 },
    AZURE_CLIENT_ID: { type: 'string', pattern: '^[0-9a-fA-F-]{36}$' },
    AZURE_CREDENTIAL: { type: 'string', enum: ['managed-identity', 'azure-cli'] },
    KEY_VAULT_URL: { type: 'string', pattern: '^https://[^/?#\\s]+/?$' },
    ENTRA_TENANT_ID: { type: 'string', minLength: 1 },
    ENTRA_AUDIENCE: { type: 'string', minLength: 1 },
    ENTRA_AUTHORITY_HOST: { type: 'string', pattern: '^https?://[^?#\\s]+$' },
    ENTRA_ALLOWED_TENANTS: { type: 'string' },
    ENTRA_ALLOWED_CALLERS: { type: 'string' },
    ENTRA_REQUIRED_ROLE: { type: 'string', minLength: 1 },
    WEBHOOK_SECRET_NAME: { $ref: '#/$defs/secretName' },
    SERVICENOW_SECRET_NAME: { $ref: '#/$defs/secretName' },
    TEAMS_SECRET_NAME: { $ref: '#/$defs/secretName' },
    SLACK_SECRET_NAME: { $ref: '#/$defs/secretName' },
    SECRET_CACHE_TTL_SECONDS: { type: 'string', pattern: '^[0-9]{1,6}$' },
    TABLE_PREFIX: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]{0,20}$' },
    IDEMPOTENCY_TTL_HOURS: { type: 'string', pattern: '^[1-9][0-9]{0,4}$' },
    CLAIM_LEASE_SECONDS: { type: 'string', pattern: '^[1-9][0-9]{0,4}$' },
    DERIVED_KEY_TTL_MINUTES: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
    AUDIT_SPOOL_DIR: { type: 'string', minLength: 1 },
    AUDIT_SPOOL_FLUSH_SECONDS: { type: 'string', pattern: '^[1-9][0-9]{0,4}$' },
    RETENTION_SCHEDULE: { $ref: '#/$defs/ncrontab' },
    DISCOVERY_SCOPES: {
      type: 'string',
      pattern:
        '^\\s*([0-9a-fA-F-]{36}|/providers/Microsoft\\.Management/managementGroups/[-\\w.()]{1,90})\\s*(,\\s*([0-9a-fA-F-]{36}|/providers/Microsoft\\.Management/managementGroups/[-\\w.()]{1,90})\\s*)*$',
    },
    DISCOVERY_SCHEDULE: { $ref: '#/$defs/ncrontab' },
    DISCOVERY_REMIND_AFTER_HOURS: { type: 'string', pattern: '^(?:[0-9]{1,4}(?:\\.[0-9]{1,6})?)$' },
    DISCOVERY_SCAN_BUDGET_SECONDS: { type: 'string', pattern: '^[1-9][0-9]{0,4}$' },
    DISCOVERY_SERVICENOW_FIELDS: { type: 'string', minLength: 2 },
    DISCOVERY_SLACK_CHANNEL: { type: 'string', pattern: '^[A-Z0-9]{6,20}$' },
    SLACK_BOT_TOKEN_SECRET_NAME: { $ref: '#/$defs/secretName' },
    SLACK_API_URL: { type: 'string', pattern: '^https://[^?#\\s]+[^/]$' },
    SYNC_BUDGET_MS: { type: 'string', pattern: '^[1-9][0-9]{0,5}$' },
    ASYNC_MAX_AGE_HOURS: { type: 'string', pattern: '^(?:[0-9]{1,4}(?:\\.[0-9]{1,6})?)$' },
    ASYNC_RETRY_BASE_MS: { type: 'string', pattern: '^[1-9][0-9]{0,7}$' },
    ASYNC_RETRY_MAX_MS: { type: 'string', pattern: '^[1-9][0-9]{0,8}$' },
    // No user:password@ (credentials live in Key Vault), no query or fragment.
    SERVICENOW_INSTANCE_URL: { type: 'string', pattern: '^https://[^/?#@\\s]+(/[^?#\\s]*)?$' },
    SERVICENOW_CREDENTIALS_SECRET_NAME: { $ref: '#/$defs/secretName' },
    SERVICENOW_TABLE: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,79}$' },
    // Host names (with an optional port), comma-separated: not URLs.
    SLACK_RESPONSE_URL_HOSTS: {
      type: 'string',
      pattern: '^\\s*[a-zA-Z0-9.-]+(:[0-9]{1,5})?\\s*(,\\s*[a-zA-Z0-9.-]+(:[0-9]{1,5})?\\s*)*$',
    },
    TEAMS_WORKFLOW_URL_SECRET_NAME: { $ref: '#/$defs/secretName' },
    POLICY_PATH: { type: 'string', minLength: 1 },
    PORT: { type: 'string', pattern: '^[0-9]{1,5}$' },
    LOG_LEVEL: { type: 'string', enum: ['debug', 'info', 'warn', 'error'] },
  },
  $defs: {
    secretName: { type: 'string', pattern: '^[0-9a-zA-Z-]{1,127}$' },
    // Six fields, seconds first, as Azure Functions timers take them.
    ncrontab: { type: 'string', pattern: '^\\S+( \\S+){5}$' },
  },
} as const;

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

const int = (value: string | undefined, fallback: number): number =>
  value === undefined ? fallback : Number.parseInt(value, 10);

/** Empty strings count as unset: app settings are often created blank. */
function present(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(envSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') out[key] = value.trim();
  }
  for (const key of [
    'AzureWebJobsStorage',
    'AzureWebJobsStorage__tableServiceUri',
    'AzureWebJobsStorage__queueServiceUri',
    'AzureWebJobsStorage__accountName',
    'AzureWebJobsStorage__credential',
    'AzureWebJobsStorage__clientId',
  ]) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') out[key] = value.trim();
  }
  return out;
}

export function loadConfig(env: Env): Config {
  const e = present(env);
  validate(e);
  return {
    arm: armConfig(e),
    identity: {
      managedIdentityClientId: e.AZURE_CLIENT_ID,
      credential: e.AZURE_CREDENTIAL === 'azure-cli' ? 'azure-cli' : 'managed-identity',
    },
    entra: entraConfig(e),
    secrets: {
      keyVaultUrl: e.KEY_VAULT_URL?.replace(/\/$/, ''),
      names: {
        generic: e.WEBHOOK_SECRET_NAME ?? 'webhook-secret',
        servicenow: e.SERVICENOW_SECRET_NAME ?? 'servicenow-webhook-secret',
        teams: e.TEAMS_SECRET_NAME ?? 'teams-outgoing-webhook-token',
        slack: e.SLACK_SECRET_NAME ?? 'slack-signing-secret',
      },
      cacheTtlSeconds: int(e.SECRET_CACHE_TTL_SECONDS, 300),
    },
    storage: storageConfig(e),
    async: asyncConfig(e),
    report: reportConfig(e),
    discovery: discoveryConfig(e),
    policyPath: e.POLICY_PATH ?? 'policy/policy.yaml',
    port: int(e.PORT, 7071),
    logLevel: (e.LOG_LEVEL as Config['logLevel'] | undefined) ?? 'info',
  };
}

type Present = Record<string, string | undefined>;

/** Every problem at once: the schema's, then the checks across settings. */
function validate(e: Present): void {
  const {
    AzureWebJobsStorage: _a,
    AzureWebJobsStorage__tableServiceUri: _b,
    AzureWebJobsStorage__accountName: _c,
    AzureWebJobsStorage__credential: _d,
    AzureWebJobsStorage__clientId: _e,
    ...rest
  } = e;
  if (!validateEnv(rest)) {
    throw new ConfigError((validateEnv.errors ?? []).map(settingProblem));
  }
  const problems: string[] = [];
  if (int(e.ARM_RETRY_MAX_DELAY_MS, 8_000) < int(e.ARM_RETRY_BASE_DELAY_MS, 500)) {
    problems.push('ARM_RETRY_MAX_DELAY_MS: must not be below ARM_RETRY_BASE_DELAY_MS');
  }
  const port = int(e.PORT, 7071);
  if (port < 1 || port > 65535) problems.push('PORT: must be between 1 and 65535');
  if (int(e.ASYNC_RETRY_MAX_MS, 600_000) < int(e.ASYNC_RETRY_BASE_MS, 5_000)) {
    problems.push('ASYNC_RETRY_MAX_MS: must not be below ASYNC_RETRY_BASE_MS');
  }
  // A queue message cannot be hidden longer than seven days (the visibility timeout of the next attempt).
  if (int(e.ASYNC_RETRY_MAX_MS, 600_000) > 604_800_000) {
    problems.push(
      'ASYNC_RETRY_MAX_MS: must be at most 604800000 (7 days, the longest a queue message can wait)',
    );
  }
  const maxAge = Number(e.ASYNC_MAX_AGE_HOURS ?? '24');
  if (!(maxAge > 0 && maxAge <= 168)) {
    problems.push('ASYNC_MAX_AGE_HOURS: must be more than 0 and at most 168 (a week)');
  }
  // A worker's hold on a connection or an operation must outlast its attempt, or another would start beside it.
  if (int(e.CLAIM_LEASE_SECONDS, 60) * 1000 <= int(e.ARM_DEADLINE_MS, 25_000) + 1000) {
    problems.push('CLAIM_LEASE_SECONDS: must exceed ARM_DEADLINE_MS by more than a second');
  }
  const queueUri = e.AzureWebJobsStorage__queueServiceUri;
  if (queueUri !== undefined && !/^https:\/\/[^/?#\s]+\/?$/.test(queueUri)) {
    problems.push(
      'AzureWebJobsStorage__queueServiceUri: must be the https:// queue endpoint of the storage account',
    );
  }
  if (e.ENABLED_RESOURCE_TYPES !== undefined && list(e.ENABLED_RESOURCE_TYPES).length === 0) {
    problems.push('ENABLED_RESOURCE_TYPES: names no type; leave it unset (or "*") for every type');
  }
  for (const type of list(e.ENABLED_RESOURCE_TYPES).filter((t) => t !== '*')) {
    if (providerOf(type)?.type.toLowerCase() !== type.toLowerCase()) {
      problems.push(
        `ENABLED_RESOURCE_TYPES: "${type}" is not a type the app knows (docs/providers.md lists them)`,
      );
    }
  }
  problems.push(...servicenowFieldsProblems(e.DISCOVERY_SERVICENOW_FIELDS));
  if (e.ENTRA_AUDIENCE) problems.push(...tenantProblems(e.ENTRA_TENANT_ID, e.ENTRA_ALLOWED_TENANTS));
  problems.push(...entraPairProblems(e), ...secretCacheProblems(e), ...storageIdentityProblems(e));
  // A reminder due at once would be a second message right after the first.
  if (e.DISCOVERY_REMIND_AFTER_HOURS !== undefined && !(Number(e.DISCOVERY_REMIND_AFTER_HOURS) > 0))
    problems.push('DISCOVERY_REMIND_AFTER_HOURS: must be more than 0 hours');
  if (problems.length > 0) throw new ConfigError(problems);
}

/** Settings that mean bearer tokens are wanted (a tenant alone does not: the sandbox sets one for every host). */
const ENTRA_SETTINGS = [
  'ENTRA_AUDIENCE',
  'ENTRA_ALLOWED_TENANTS',
  'ENTRA_ALLOWED_CALLERS',
  'ENTRA_REQUIRED_ROLE',
] as const;

/** Bearer tokens need both the tenant and the audience: half a configuration would silently turn them off. */
function entraPairProblems(e: Present): string[] {
  if (e.ENTRA_TENANT_ID && e.ENTRA_AUDIENCE) return [];
  const set = ENTRA_SETTINGS.filter((name) => e[name] !== undefined);
  if (set.length === 0) return [];
  const missing = (['ENTRA_TENANT_ID', 'ENTRA_AUDIENCE'] as const).filter((name) => e[name] === undefined);
  return [
    `${missing.join(' and ')}: needed for Entra ID bearer tokens, since ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set; set ${missing.length > 1 ? 'them' : 'it'}, or unset the ENTRA_ settings to accept signed requests only`,
  ];
}

/**
 * The Functions host reaches its storage with the identity `AzureWebJobsStorage__clientId` names; the app's own
 * table and queue clients use AZURE_CLIENT_ID's (one credential for everything). Two identities would have the
 * host run while every request fails on storage.
 */
function storageIdentityProblems(e: Present): string[] {
  const hostId = e.AzureWebJobsStorage__clientId;
  if (hostId === undefined || e.AzureWebJobsStorage__credential?.toLowerCase() !== 'managedidentity')
    return [];
  if (hostId.toLowerCase() === e.AZURE_CLIENT_ID?.toLowerCase()) return [];
  return [
    `AzureWebJobsStorage__clientId: the host reaches storage as ${hostId}, the app as ${e.AZURE_CLIENT_ID ?? 'its system-assigned identity'} (AZURE_CLIENT_ID); set AZURE_CLIENT_ID to the same user-assigned identity`,
  ];
}

/**
 * The cache bounds how long a disabled (leaked) version is still accepted, and how often the vault is read: an
 * hour at most, and a cache of under 10 s only for a vault on this machine (the sandbox), where a caller with
 * nothing but the scheme's headers could otherwise have the vault read at every request.
 */
function secretCacheProblems(e: Present): string[] {
  if (e.SECRET_CACHE_TTL_SECONDS === undefined) return [];
  const ttl = Number(e.SECRET_CACHE_TTL_SECONDS);
  if (ttl > 3600) return ['SECRET_CACHE_TTL_SECONDS: must be at most 3600 (an hour)'];
  if (ttl >= 10 || (e.KEY_VAULT_URL !== undefined && isLoopbackUrl(e.KEY_VAULT_URL))) return [];
  return ['SECRET_CACHE_TTL_SECONDS: must be at least 10 (under 10 only for a vault on this machine)'];
}

/** Tokens name their tenant by GUID (`tid`): a tenant named by domain would allow none of them by default. */
function tenantProblems(tenant: string | undefined, allowed: string | undefined): string[] {
  if (!tenant || isUuid(tenant) || list(allowed).length > 0) return [];
  return [
    `ENTRA_ALLOWED_TENANTS: must list the tenant GUID(s) whose tokens are accepted when ENTRA_TENANT_ID is "${tenant}" and not a GUID (tokens name their tenant by GUID)`,
  ];
}

/** A JSON object of field name → text template; the record must name the connection where the route reads it. */
function servicenowFieldsProblems(value: string | undefined): string[] {
  if (value === undefined) return [];
  try {
    const fields = JSON.parse(value) as unknown;
    const ok =
      typeof fields === 'object' &&
      fields !== null &&
      !Array.isArray(fields) &&
      Object.values(fields).every((v) => typeof v === 'string');
    if (!ok) return ['DISCOVERY_SERVICENOW_FIELDS: must be a JSON object of field names to text templates'];
    return Object.values(fields).some((v) => String(v).includes('{connectionId}'))
      ? []
      : [
          'DISCOVERY_SERVICENOW_FIELDS: one field must hold {connectionId} (the field the ServiceNow route reads)',
        ];
  } catch {
    return ['DISCOVERY_SERVICENOW_FIELDS: not JSON'];
  }
}

const PUBLIC_ARM = 'https://management.azure.com';

/**
 * Tokens are asked for the Resource Manager they are sent to: a sovereign cloud's endpoint (US Government,
 * China) with the public cloud's scope would have every call refused. A Resource Manager on this machine (the
 * sandbox) takes the public scope, which its identity endpoint issues.
 */
function defaultArmScope(endpoint: string): string {
  const origin = new URL(endpoint).origin;
  return `${isLoopbackUrl(origin) ? PUBLIC_ARM : origin}/.default`;
}

function armConfig(e: Present): ArmConfig {
  const endpoint = (e.ARM_ENDPOINT ?? PUBLIC_ARM).replace(/\/$/, '');
  return {
    endpoint,
    scope: e.ARM_SCOPE ?? defaultArmScope(endpoint),
    deadlineMs: int(e.ARM_DEADLINE_MS, 25_000),
    maxRetries: int(e.ARM_MAX_RETRIES, 4),
    retryBaseDelayMs: int(e.ARM_RETRY_BASE_DELAY_MS, 500),
    retryMaxDelayMs: int(e.ARM_RETRY_MAX_DELAY_MS, 8_000),
    pollIntervalMs: int(e.ARM_POLL_INTERVAL_MS, 2_000),
    enabledTypes: enabledTypes(list(e.ENABLED_RESOURCE_TYPES)),
  };
}

/** Unset or `*`: every registry type; otherwise the listed ones, in the registry's spelling. */
function enabledTypes(listed: readonly string[]): readonly string[] {
  if (listed.length === 0 || listed.includes('*')) return PROVIDERS.map((p) => p.type);
  return [...new Set(listed.map((t) => providerOf(t)?.type ?? t))];
}

function entraConfig(e: Present): EntraConfig {
  const tenantId = e.ENTRA_TENANT_ID;
  const allowedTenants = list(e.ENTRA_ALLOWED_TENANTS);
  return {
    tenantId,
    audience: e.ENTRA_AUDIENCE,
    authorityHost: (e.ENTRA_AUTHORITY_HOST ?? 'https://login.microsoftonline.com').replace(/\/$/, ''),
    allowedTenants: allowedTenants.length > 0 ? allowedTenants : tenantId ? [tenantId] : [],
    allowedCallers: list(e.ENTRA_ALLOWED_CALLERS),
    requiredRole: e.ENTRA_REQUIRED_ROLE,
  };
}

/** Identity-based (a table service URI, or an account name) in Azure; a connection string locally. */
function storageConfig(e: Present): StorageConfig {
  const uri = e.AzureWebJobsStorage__tableServiceUri;
  const account = e.AzureWebJobsStorage__accountName;
  return {
    connectionString:
      e.AzureWebJobsStorage ??
      (uri || account || e.AzureWebJobsStorage__queueServiceUri ? undefined : 'UseDevelopmentStorage=true'),
    tableServiceUri: uri ?? (account ? `https://${account}.table.core.windows.net` : undefined),
    queueServiceUri:
      e.AzureWebJobsStorage__queueServiceUri ??
      (account ? `https://${account}.queue.core.windows.net` : undefined),
    accountName: account,
    tablePrefix: e.TABLE_PREFIX ?? 'approver',
    idempotencyTtlHours: int(e.IDEMPOTENCY_TTL_HOURS, 168),
    derivedKeyTtlMinutes: int(e.DERIVED_KEY_TTL_MINUTES, 10),
    claimLeaseSeconds: int(e.CLAIM_LEASE_SECONDS, 60),
    auditSpoolDir: e.AUDIT_SPOOL_DIR ?? join(tmpdir(), 'private-link-approver', 'audit-spool'),
    auditSpoolFlushSeconds: int(e.AUDIT_SPOOL_FLUSH_SECONDS, 30),
    retentionSchedule: e.RETENTION_SCHEDULE ?? '0 17 3 * * *',
  };
}

function asyncConfig(e: Present): AsyncConfig {
  return {
    syncBudgetMs: int(e.SYNC_BUDGET_MS, 25_000),
    maxAgeMs: Math.round(Number(e.ASYNC_MAX_AGE_HOURS ?? '24') * 3_600_000),
    retryBaseMs: int(e.ASYNC_RETRY_BASE_MS, 5_000),
    retryMaxMs: int(e.ASYNC_RETRY_MAX_MS, 600_000),
  };
}

const DEFAULT_SERVICENOW_FIELDS = {
  short_description:
    'Private endpoint connection {connection} to {type} {resource} is waiting for a decision',
  description:
    'A private endpoint ({privateEndpointId}) asks to connect to {resource} (resource group {resourceGroup}, subscription {subscription}). Its request: "{description}". Approving or rejecting this change decides the connection.',
  u_private_endpoint_connection_id: '{connectionId}',
};

function discoveryConfig(e: Present): DiscoveryConfig {
  const scopes = list(e.DISCOVERY_SCOPES);
  return {
    subscriptions: scopes.filter((s) => !s.startsWith('/')).map((s) => s.toLowerCase()),
    managementGroups: scopes.filter((s) => s.startsWith('/')).map((s) => s.split('/').pop() ?? ''),
    schedule: e.DISCOVERY_SCHEDULE ?? '0 */5 * * * *',
    remindAfterMs: Math.round(Number(e.DISCOVERY_REMIND_AFTER_HOURS ?? '24') * 3_600_000),
    // Under the default schedule's five minutes, so a scan with much to do leaves the next one its slot.
    scanBudgetMs: Number(e.DISCOVERY_SCAN_BUDGET_SECONDS ?? '240') * 1_000,
    servicenowFields:
      e.DISCOVERY_SERVICENOW_FIELDS === undefined
        ? DEFAULT_SERVICENOW_FIELDS
        : (JSON.parse(e.DISCOVERY_SERVICENOW_FIELDS) as Record<string, string>),
    slackChannel: e.DISCOVERY_SLACK_CHANNEL,
    slackBotTokenSecretName: e.SLACK_BOT_TOKEN_SECRET_NAME ?? 'slack-bot-token',
    slackApiUrl: e.SLACK_API_URL ?? 'https://slack.com/api',
  };
}

function reportConfig(e: Present): ReportConfig {
  // An https URL's host never shows its default port, so `hooks.slack.com:443` is `hooks.slack.com`.
  const hosts = list(e.SLACK_RESPONSE_URL_HOSTS).map((host) => host.toLowerCase().replace(/:443$/, ''));
  return {
    servicenowInstanceUrl: e.SERVICENOW_INSTANCE_URL?.replace(/\/+$/, ''),
    servicenowCredentialsSecretName: e.SERVICENOW_CREDENTIALS_SECRET_NAME ?? 'servicenow-api-credentials',
    servicenowTable: e.SERVICENOW_TABLE ?? 'change_request',
    slackResponseUrlHosts: hosts.length > 0 ? hosts : ['hooks.slack.com'],
    teamsWorkflowUrlSecretName: e.TEAMS_WORKFLOW_URL_SECRET_NAME ?? 'teams-workflow-url',
  };
}
