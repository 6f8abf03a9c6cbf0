import { randomUUID } from 'node:crypto';
import { basename, resolve } from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { ApprovalDeps, RequestScope } from './approval/handle-approval.js';
import type { PolicyCheck, PolicyGate } from './approval/decide.js';
import type { ContinueDeps } from './approval/continue-approval.js';
import { flushSpool } from './approval/record.js';
import type { Source } from './approval/source.js';
import type { ArmClient } from './arm/arm-client.js';
import { createArmClient } from './arm/arm-client.js';
import type { AuthDeps } from './auth/authenticate.js';
import { createEntraVerifier } from './auth/entra-token.js';
import type { Config } from './config.js';
import { Refusal } from './model/refusal.js';
import { createCredential } from './credential.js';
import type { DependencyHealth } from './dependency-health.js';
import { createDependencyHealth, healthPolicy } from './dependency-health.js';
import type { RouteContext } from './http/route-types.js';
import type { LogSink, Logger } from './logger.js';
import { consoleSink, createLogger } from './logger.js';
import type { ApprovalRequest } from './model/approval.js';
import { evaluatePolicy, expiryFor, gateCaller, loadPolicy, PolicyError } from './policy/index.js';
import type { DiscoveryDeps, Expiry } from './discovery/run-scan.js';
import type { People } from './discovery/people.js';
import { createPeople } from './discovery/people.js';
import { ConnectionShare } from './approval/connection-share.js';
import type { Scanner } from './discovery/scanner.js';
import { createScanner } from './discovery/scanner.js';
import { providerOf } from './model/provider-registry.js';
import { sleep } from './backoff.js';
import type { PolicyProblem } from './policy/index.js';
import { postToTeams } from './report/chat-post.js';
import { createOutbound } from './report/outbound.js';
import type { Outbound } from './report/outbound.js';
import type { Reporter } from './report/reporter.js';
import { createReporter } from './report/reporter.js';
import { createServiceNowClient } from './report/servicenow-work-note.js';
import type { ServiceNowClient } from './report/servicenow-work-note.js';
import { createSlackPoster } from './report/slack-api.js';
import { createKeyVaultSecretProvider } from './secrets/key-vault-secret-provider.js';
import {
  validateApprovalRequest,
  validateServiceNowChange,
  validateSlackBlockActions,
  validateTeamsActivity,
} from './generated/source-validators.js';
import { genericSource } from './sources/generic.js';
import { validatorOf } from './sources/schema-validator.js';
import type { ServiceNowChange } from './sources/servicenow.js';
import { servicenowPayloadValidator, servicenowSource } from './sources/servicenow.js';
import { SLACK_ARM_DEADLINE_MS, slackSource } from './sources/slack.js';
import type { SlackBlockActions } from './sources/slack-actions.js';
import { slackActionsSource } from './sources/slack-actions.js';
import type { TeamsActivity } from './sources/teams.js';
import { TEAMS_ARM_DEADLINE_MS, teamsSource } from './sources/teams.js';
import type { AuditSpool } from './store/audit-spool.js';
import { createAuditSpool } from './store/audit-spool.js';
import { LOST_HOLDER_SOURCE, type AuditEvents } from './store/audit-trail.js';
import { StoreUnavailableError } from './store/errors.js';
import type { Stores } from './store/create-stores.js';
import { createStores } from './store/create-stores.js';

/** Whether the policy document loaded; an invalid one stops every write (deny by default). */
/** Where a policy problem is, without its message (which may quote a value from the file). */
export type PolicyProblemPlace = Omit<PolicyProblem, 'message'>;

/**
 * What health and the 503s show of the policy, to callers that have not authenticated: the file's name and where
 * each problem is. The messages, which may quote the file (a pattern, a time zone), are in the `policy.invalid` log
 * line and in `npm run policy -- check`.
 */
export type PolicyStatus =
  { ok: true; file: string; sha256: string } | { ok: false; file: string; problems: PolicyProblemPlace[] };

/** Everything a route needs, built once per process. */
export interface AppDeps {
  config: Config;
  policyStatus: PolicyStatus;
  logger: Logger;
  now: () => number;
  auth: AuthDeps;
  approval: ApprovalDeps;
  /** Work resumed from the queue, and the reports of outcomes that came after their caller was answered. */
  continued: ContinueDeps;
  reporter: Reporter;
  sources: Record<'generic' | 'servicenow' | 'teams' | 'slack' | 'slackActions', Source>;
  stores: Stores;
  health: DependencyHealth;
  spool: AuditSpool;
  /** The request id, start time and logger of one request; its lines go to the invocation's own logger. */
  beginRequest(route: string, context: RouteContext): RequestScope;
  /** The logger of one invocation, for lines outside a request (the one line per request, timers). */
  invocationLogger(context: RouteContext, fields?: Record<string, unknown>): Logger;
  /** Work to do in the background (writing spooled records); `stop` ends it, for tests and shutdown. */
  background: { stop(): void };
  /** The scan for Pending connections; undefined when DISCOVERY_SCOPES names none. */
  discovery?: Scanner;
}

/** Replaceable parts, for local stand-ins: certificates of HTTPS stand-ins, a log sink, a clock, policy. */
export interface AppOverrides {
  credential?: TokenCredential;
  armTls?: { ca: string };
  keyVaultTls?: { ca: string };
  /** CA for the stand-ins that late outcomes are reported to (ServiceNow, Slack, Teams). */
  outboundTls?: { ca: string };
  logSink?: LogSink;
  now?: () => number;
  policy?: PolicyCheck;
  stores?: Stores;
  /** Extra pipeline policies of the storage clients (tests: a queue that is slow to answer). */
  storagePolicies?: PipelinePolicy[];
  /** Where a relative POLICY_PATH is resolved from: the app's root (next to host.json). Default: cwd. */
  appRoot?: string;
}

export type AppState = { ok: true; deps: AppDeps } | { ok: false; problems: string[]; logger: Logger };

/** What the clients of outside services are built from. */
interface Wiring {
  config: Config;
  overrides: AppOverrides;
  credential: TokenCredential;
  health: DependencyHealth;
  logger: Logger;
  now: () => number;
}

function storesOf({ config, overrides, credential, health, logger, now }: Wiring): Stores {
  return createStores(config.storage, credential, {
    clock: now,
    tuning: { policies: [healthPolicy(health, 'storage'), ...(overrides.storagePolicies ?? [])] },
    auditEvents: auditLog(logger),
  });
}

/** What the audit trail tells, as log lines: the chain's anchors outside its table, and what needs a person. */
function auditLog(logger: Logger): AuditEvents {
  return {
    // The chain's anchor outside the table: `npm run audit -- verify` output can be checked against these.
    onAppended: ({ requestId, connectionId, seq, hash, source, about }) => {
      logger.info('audit.chained', { requestId, connectionId, seq, hash });
      // A decision stopped while it held the connection: what it did is unknown until someone reads it.
      if (source === LOST_HOLDER_SOURCE)
        logger.error('audit.lease-lost', { requestId: about, recordedAs: requestId, connectionId });
    },
    // Only a hand on the table moves a head back: the record went in after the last one, and someone must look.
    onHeadBehind: (found) => logger.error('audit.head-behind', { ...found }),
    // The table's copy was changed after it was written: the log keeps the one that was.
    onFoundAltered: ({ seq, reason, spooled }) =>
      logger.error('audit.found-altered', {
        requestId: spooled.requestId,
        connectionId: spooled.connectionId,
        seq,
        reason,
        written: spooled,
      }),
  };
}

export function createAppDeps(config: Config, overrides: AppOverrides = {}): AppDeps {
  const now = overrides.now ?? Date.now;
  const newId = (): string => randomUUID();
  const sink = overrides.logSink ?? consoleSink;
  const logger = createLogger({ level: config.logLevel, sink, now });
  const health = createDependencyHealth(now);
  const credential = overrides.credential ?? createCredential(config.identity);
  const wiring: Wiring = { config, overrides, credential, health, logger, now };
  const stores = overrides.stores ?? storesOf(wiring);
  createTablesSoon(stores, logger);
  const policy = overrides.policy
    ? overridePolicy(overrides.policy)
    : loadPolicyCheck(config, overrides, logger);
  const auth = authDeps(wiring);
  const spool = createAuditSpool(config.storage.auditSpoolDir, {
    onUnreadable: (file) => logger.error('audit.spool-unreadable', { file }),
    isOutage: (error) => error instanceof StoreUnavailableError,
  });
  const arm = armClient(wiring);
  const approval = approvalDeps(config, { arm, policy, stores, spool, now, newId });
  const platform = platforms(config, overrides, auth, now);
  const invocationLogger = invocationLoggers(config, sink, now);
  return {
    config,
    policyStatus: policy.status,
    logger,
    now,
    auth,
    approval,
    continued: continueDeps(config, approval, stores),
    reporter: reporter(config, platform, auth, now),
    sources: sources(config, auth),
    stores,
    health,
    spool,
    beginRequest(route, context) {
      const requestId = newId();
      return { requestId, started: now(), logger: invocationLogger(context, { requestId, route }) };
    },
    invocationLogger,
    background: spoolFlusher(config, approval, logger),
    ...optionalDiscovery(
      discoveryDeps(config, {
        arm,
        approval,
        stores,
        platform,
        auth,
        expiry: policy.expiry,
        now,
        newId,
        logger,
      }),
    ),
  };
}

/**
 * Once at start-up, after the entry's import has returned: building the first request of each table and queue
 * client is about 20 ms of CPU that the host's start need not wait for, and a table that is still missing when a
 * request needs it is created by the call that finds it missing.
 */
function createTablesSoon(stores: Stores, logger: Logger): void {
  setImmediate(() => {
    stores
      .ensureTables()
      .catch((error: unknown) => logger.warn('storage.tables-not-created', { error: String(error) }));
  });
}

/** Each invocation's lines carry its id, and go to the invocation's own sink when the host gives one. */
function invocationLoggers(config: Config, sink: LogSink, now: () => number): AppDeps['invocationLogger'] {
  return (context, fields = {}) =>
    createLogger({
      level: config.logLevel,
      sink: context.sink ?? sink,
      now,
      fields: { invocationId: context.invocationId, ...fields },
    });
}

/** Work resumed from the queue takes the same steps as a request, with one attempt's full budget. */
function continueDeps(config: Config, approval: ApprovalDeps, stores: Stores): ContinueDeps {
  return {
    decide: approval.decide,
    later: approval.later,
    claim: approval.claim,
    record: approval.record,
    audit: stores.audit,
    now: approval.now,
    attemptMs: config.arm.deadlineMs,
    leaseMs: config.storage.claimLeaseSeconds * 1_000,
  };
}

/**
 * Requests worked on at once per process (the rest wait their turn). Four of one connection: a flood on it then
 * slows the others about 2× instead of 58× (bench (n)), while a few callers reading one connection through a
 * slow Resource Manager still run side by side (two would turn a Slack command away behind two slow reads).
 * 64 in all keep every outbound call busy while bounding the memory a burst holds.
 */
const SHARE_LIMITS = { perConnection: 4, total: 64 };

function approvalDeps(
  config: Config,
  parts: {
    arm: ArmClient;
    policy: LoadedPolicy;
    stores: Stores;
    spool: AuditSpool;
    now: () => number;
    newId: () => string;
  },
): ApprovalDeps {
  const { arm, policy, stores, spool, now, newId } = parts;
  return {
    decide: {
      arm,
      enabledTypes: new Set(config.arm.enabledTypes),
      policy: policy.check,
      ...(policy.gate ? { policyGate: policy.gate } : {}),
      audit: stores.audit,
      now,
      newId,
    },
    claim: {
      idempotency: stores.idempotency,
      audit: stores.audit,
      derivedKeyTtlMinutes: config.storage.derivedKeyTtlMinutes,
      operations: stores.operations,
    },
    record: {
      audit: stores.audit,
      spool,
      now,
      ...(policy.status.ok ? { policySha256: policy.status.sha256 } : {}),
    },
    later: {
      queue: stores.queue,
      operations: stores.operations,
      idempotency: stores.idempotency,
      now,
      maxAgeMs: config.async.maxAgeMs,
      retryBaseMs: config.async.retryBaseMs,
      retryMaxMs: config.async.retryMaxMs,
      resultTtlMs: config.storage.idempotencyTtlHours * 3_600_000,
    },
    nonces: stores.nonces,
    share: new ConnectionShare(SHARE_LIMITS, now),
    enabledTypes: new Set(config.arm.enabledTypes),
    now,
  };
}

interface Platforms {
  http: Outbound;
  /** The one ServiceNow instance configured, with credentials from Key Vault. */
  servicenow?: ServiceNowClient;
}

function platforms(config: Config, overrides: AppOverrides, auth: AuthDeps, now: () => number): Platforms {
  const http = createOutbound(overrides.outboundTls ? { tls: overrides.outboundTls, now } : { now });
  const { report } = config;
  if (!report.servicenowInstanceUrl || !auth.secrets) return { http };
  const servicenow = createServiceNowClient({
    instanceUrl: report.servicenowInstanceUrl,
    table: report.servicenowTable,
    credentialsSecretName: report.servicenowCredentialsSecretName,
    secrets: auth.secrets,
    http,
    now,
  });
  return { http, servicenow };
}

function reporter(config: Config, platform: Platforms, auth: AuthDeps, now: () => number): Reporter {
  const { report } = config;
  return createReporter({
    http: platform.http,
    ...(auth.secrets ? { secrets: auth.secrets } : {}),
    ...(platform.servicenow ? { writeWorkNote: platform.servicenow.workNote } : {}),
    teamsWorkflowSecretName: report.teamsWorkflowUrlSecretName,
    slackResponseUrlHosts: report.slackResponseUrlHosts,
    now,
  });
}

/** Discovery, when scopes are configured: the scan, the pipeline it decides through, and the people it asks. */
function discoveryDeps(
  config: Config,
  parts: {
    arm: ArmClient;
    approval: ApprovalDeps;
    stores: Stores;
    platform: Platforms;
    auth: AuthDeps;
    expiry: Expiry | undefined;
    now: () => number;
    newId: () => string;
    logger: Logger;
  },
): Scanner | undefined {
  const { discovery, arm: armConfig } = config;
  if (discovery.subscriptions.length === 0 && discovery.managementGroups.length === 0) return undefined;
  const people = discoveryPeople(config, parts.platform, parts.auth, parts.logger);
  const deps: DiscoveryDeps = {
    arm: parts.arm,
    scopes: { subscriptions: discovery.subscriptions, managementGroups: discovery.managementGroups },
    types: armConfig.enabledTypes.flatMap((type) => providerOf(type) ?? []),
    concurrency: DISCOVERY_CONCURRENCY,
    act: { approval: parts.approval, now: parts.now, newId: parts.newId, deadlineMs: armConfig.deadlineMs },
    store: parts.stores.discovery,
    people,
    ...(parts.expiry ? { expiry: parts.expiry } : {}),
    remindAfterMs: discovery.remindAfterMs,
    budgetMs: discovery.scanBudgetMs,
    now: parts.now,
    newId: parts.newId,
    sleep,
  };
  return createScanner(deps, discovery.schedule);
}

/** Whom discovery asks: every channel configured (ServiceNow, Slack, Teams), each with its credentials in Key Vault. */
function discoveryPeople(config: Config, platform: Platforms, auth: AuthDeps, logger: Logger): People {
  const { discovery } = config;
  const { secrets } = auth;
  if (discovery.slackChannel && !secrets)
    logger.warn('discovery.slack-off', {
      detail: 'DISCOVERY_SLACK_CHANNEL is set but KEY_VAULT_URL is not: the bot token lives in Key Vault.',
    });
  if (!platform.servicenow && !secrets)
    logger.warn('discovery.no-channel', {
      detail:
        'Discovery can approve what policy trusts but has nobody to ask about the rest: set SERVICENOW_INSTANCE_URL, DISCOVERY_SLACK_CHANNEL or a Teams workflow URL (each needs KEY_VAULT_URL).',
    });
  return createPeople({
    ...(platform.servicenow
      ? { servicenow: { client: platform.servicenow, fields: discovery.servicenowFields } }
      : {}),
    ...(discovery.slackChannel && secrets
      ? {
          slack: {
            channel: discovery.slackChannel,
            post: createSlackPoster({
              apiUrl: discovery.slackApiUrl,
              tokenSecretName: discovery.slackBotTokenSecretName,
              secrets,
              http: platform.http,
            }),
          },
        }
      : {}),
    ...(secrets
      ? {
          teams: (text: string) =>
            postToTeams(platform.http, secrets, config.report.teamsWorkflowUrlSecretName, text),
        }
      : {}),
    logger,
  });
}

const optionalDiscovery = (scanner: Scanner | undefined): { discovery?: Scanner } =>
  scanner === undefined ? {} : { discovery: scanner };

/** Resources whose connections are read at once, when their type's body does not list them (AKS). */
const DISCOVERY_CONCURRENCY = 8;

function armClient({ config, overrides, credential, health, now }: Wiring) {
  return createArmClient({
    endpoint: config.arm.endpoint,
    scope: config.arm.scope,
    credential,
    retry: {
      maxRetries: config.arm.maxRetries,
      baseDelayMs: config.arm.retryBaseDelayMs,
      maxDelayMs: config.arm.retryMaxDelayMs,
    },
    tls: overrides.armTls,
    now,
    policies: [healthPolicy(health, 'arm', false)],
    pollIntervalMs: config.arm.pollIntervalMs,
  });
}

function authDeps({ config, overrides, credential, health, logger, now }: Wiring): AuthDeps {
  const secrets = config.secrets.keyVaultUrl
    ? createKeyVaultSecretProvider({
        vaultUrl: config.secrets.keyVaultUrl,
        credential,
        cacheTtlSeconds: config.secrets.cacheTtlSeconds,
        now,
        tls: overrides.keyVaultTls,
        logger,
        policies: [healthPolicy(health, 'keyVault')],
      })
    : undefined;
  const { entra: e } = config;
  const entra =
    e.tenantId && e.audience
      ? createEntraVerifier({
          tenantId: e.tenantId,
          audience: e.audience,
          authorityHost: e.authorityHost,
          allowedTenants: e.allowedTenants,
          allowedCallers: e.allowedCallers,
          requiredRole: e.requiredRole,
          now,
          onFetch: (ok, reason) => health.report('entra', ok, reason),
        })
      : undefined;
  return { secrets, entra, secretNames: config.secrets.names, now };
}

/** The payload schemas were compiled at build time (src/generated); here they are only given their types. */
function sources(config: Config, auth: AuthDeps): AppDeps['sources'] {
  const approvalRequest = validatorOf<ApprovalRequest>(validateApprovalRequest);
  const servicenow = servicenowPayloadValidator(
    validatorOf<ServiceNowChange>(validateServiceNowChange),
    approvalRequest,
  );
  // The caller's wait: the synchronous budget, never more than one attempt's own deadline.
  const budget = Math.min(config.async.syncBudgetMs, config.arm.deadlineMs);
  // Write-back needs the instance and the vault its credentials are read from.
  const writeBack = config.report.servicenowInstanceUrl !== undefined && auth.secrets !== undefined;
  return {
    generic: genericSource(auth, approvalRequest, budget),
    servicenow: servicenowSource(auth, servicenow, budget, writeBack),
    teams: teamsSource(
      auth,
      validatorOf<TeamsActivity>(validateTeamsActivity),
      Math.min(TEAMS_ARM_DEADLINE_MS, budget),
    ),
    slack: slackSource(auth, Math.min(SLACK_ARM_DEADLINE_MS, budget), config.report.slackResponseUrlHosts),
    slackActions: slackActionsSource(
      auth,
      validatorOf<SlackBlockActions>(validateSlackBlockActions),
      Math.min(SLACK_ARM_DEADLINE_MS, budget),
      config.report.slackResponseUrlHosts,
    ),
  };
}

/** Writes spooled records now (records left by an earlier process) and every few seconds after. */
function spoolFlusher(config: Config, approval: ApprovalDeps, logger: Logger): { stop(): void } {
  const flush = (): void => {
    if (approval.record.spool.pending() === 0) return;
    flushSpool(approval.record, config.storage.claimLeaseSeconds).then(
      (written) => logger.info('audit.spool-flushed', { written }),
      (error: unknown) =>
        logger.warn('audit.spool-waiting', {
          pending: approval.record.spool.pending(),
          error: String(error),
        }),
    );
  };
  flush();
  const timer = setInterval(flush, config.storage.auditSpoolFlushSeconds * 1_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

interface LoadedPolicy {
  check: PolicyCheck;
  gate?: PolicyGate;
  /** Discovery's expiry of a Pending connection (policy `expireAfterDays`). */
  expiry?: Expiry;
  status: PolicyStatus;
}

function overridePolicy(check: PolicyCheck): LoadedPolicy {
  return { check, status: { ok: true, file: 'override', sha256: '' } };
}

function policyNotLoaded(file: string): Refusal {
  return new Refusal(
    'not-configured',
    `The policy document ${file} is invalid, so no approval is applied. Fix it (npm run policy -- check) and redeploy; accepted work continues then.`,
    { retryAfterSeconds: 60, reason: 'policy-invalid' },
  );
}

/**
 * Loaded once per process; requests never read the file. A broken policy decides nothing: asked, it throws. What
 * health and errors show is the file's name, never where the app is installed.
 */
function loadPolicyCheck(config: Config, overrides: AppOverrides, logger: Logger): LoadedPolicy {
  const file = resolve(overrides.appRoot ?? process.cwd(), config.policyPath);
  const shown = basename(config.policyPath);
  try {
    const policy = loadPolicy(file);
    logger.info('policy.loaded', { file: shown, sha256: policy.sha256, rules: policy.rules.length });
    return {
      check: (input) => evaluatePolicy(policy, input),
      gate: (request, caller) => gateCaller(policy, request, caller),
      expiry: (target, caller) => expiryFor(policy, target, caller),
      status: { ok: true, file: shown, sha256: policy.sha256 },
    };
  } catch (error) {
    const problems: PolicyProblem[] =
      error instanceof PolicyError
        ? error.problems
        : [{ pointer: '', message: error instanceof Error ? error.message : String(error) }];
    const shownProblems = problems.map((p) => ({ ...p, message: p.message.replaceAll(file, shown) }));
    logger.error('policy.invalid', { file: shown, problems: shownProblems });
    return {
      // Routes that decide answer 503 before they get here; what does get here (work accepted before a redeploy,
      // continuing from the queue) waits for the fix like for any dependency, rather than ending denied.
      check: () => {
        throw policyNotLoaded(shown);
      },
      status: {
        ok: false,
        file: shown,
        problems: shownProblems.map(({ message: _message, ...place }) => place),
      },
    };
  }
}

/** Configuration problems do not stop the process: health reports them and every other route answers 503. */
export function createAppState(load: () => Config, overrides: AppOverrides = {}): AppState {
  try {
    return { ok: true, deps: createAppDeps(load(), overrides) };
  } catch (error) {
    const logger = createLogger({ level: 'info', sink: overrides.logSink ?? consoleSink, now: Date.now });
    const problems =
      error instanceof Error && 'problems' in error && Array.isArray(error.problems)
        ? (error.problems as unknown[]).map(String)
        : [error instanceof Error ? error.message : String(error)];
    logger.error('startup.failed', { problems });
    return { ok: false, problems, logger };
  }
}
