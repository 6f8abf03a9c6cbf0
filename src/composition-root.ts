import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import type { ApprovalStores } from './approval/handle-approval.js';
import type { ApprovalRequest } from './approval/model.js';
import type { PipelineDeps, PolicyCheck, PolicyGate } from './approval/pipeline.js';
import { createArmClient } from './arm/arm-client.js';
import type { AuthDeps } from './auth/authenticate.js';
import { createEntraVerifier } from './auth/entra-token.js';
import type { Config } from './config.js';
import { createCredential } from './credential.js';
import type { RequestScope } from './http/intake.js';
import type { LogSink, Logger } from './logger.js';
import { consoleSink, createLogger } from './logger.js';
import { evaluatePolicy, gateCaller, loadPolicy, PolicyError } from './policy/index.js';
import type { PolicyProblem } from './policy/index.js';
import { createKeyVaultSecretProvider } from './secrets/key-vault-secret-provider.js';
import type { GenericValidator } from './sources/generic.js';
import { genericSchema } from './sources/generic.js';
import { createValidatorFactory } from './sources/schema-validator.js';
import type { ServiceNowChange, ServiceNowPayload } from './sources/servicenow.js';
import { servicenowPayloadValidator, servicenowSchema } from './sources/servicenow.js';
import type { Validation } from './sources/schema-validator.js';
import type { TeamsActivity, TeamsValidator } from './sources/teams.js';
import { teamsActivitySchema } from './sources/teams.js';
import type { Stores } from './store/create-stores.js';
import { createStores } from './store/create-stores.js';
import type { NonceStore } from './store/nonce-store.js';

/** Whether the policy document loaded; an invalid one stops every write (DESIGN: deny by default). */
export type PolicyStatus =
  { ok: true; file: string; sha256: string } | { ok: false; file: string; problems: PolicyProblem[] };

/** Everything a route needs, built once per process. */
export interface AppDeps {
  config: Config;
  policyStatus: PolicyStatus;
  logger: Logger;
  now: () => number;
  newId: () => string;
  pipeline: PipelineDeps;
  auth: AuthDeps;
  stores: ApprovalStores & { nonces: NonceStore; ensureTables(): Promise<void> };
  validators: {
    approvalRequest: GenericValidator;
    servicenow: (data: unknown) => Validation<ServiceNowPayload>;
    teamsActivity: TeamsValidator;
  };
  beginRequest(route: string): RequestScope;
}

/** Replaceable parts, for local stand-ins: certificates of HTTPS stand-ins, a log sink, a clock, policy. */
export interface AppOverrides {
  credential?: TokenCredential;
  armTls?: { ca: string };
  keyVaultTls?: { ca: string };
  logSink?: LogSink;
  now?: () => number;
  policy?: PolicyCheck;
  stores?: Stores;
  /** Where a relative POLICY_PATH is resolved from: the app's root (next to host.json). Default: cwd. */
  appRoot?: string;
}

export type AppState = { ok: true; deps: AppDeps } | { ok: false; problems: string[]; logger: Logger };

export function createAppDeps(config: Config, overrides: AppOverrides = {}): AppDeps {
  const now = overrides.now ?? Date.now;
  const newId = (): string => randomUUID();
  const logger = createLogger({ level: config.logLevel, sink: overrides.logSink ?? consoleSink, now });
  const credential = overrides.credential ?? createCredential(config.identity);
  const arm = createArmClient({
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
  });
  const secrets = config.secrets.keyVaultUrl
    ? createKeyVaultSecretProvider({
        vaultUrl: config.secrets.keyVaultUrl,
        credential,
        cacheTtlSeconds: config.secrets.cacheTtlSeconds,
        now,
        tls: overrides.keyVaultTls,
        logger,
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
        })
      : undefined;
  const stores = overrides.stores ?? createStores(config.storage, credential, { clock: now });
  const makeValidator = createValidatorFactory();
  const approvalRequest = makeValidator<ApprovalRequest>(genericSchema);
  const {
    check: policy,
    gate: policyGate,
    status: policyStatus,
  } = overrides.policy
    ? {
        check: overrides.policy,
        gate: undefined,
        status: { ok: true, file: 'override', sha256: '' } as const,
      }
    : loadPolicyCheck(
        resolve(overrides.appRoot ?? process.cwd(), config.policyPath),
        config.policyPath,
        logger,
      );
  return {
    config,
    policyStatus,
    logger,
    now,
    newId,
    pipeline: { arm, policy, policyGate, now, newId },
    auth: { secrets, entra, secretNames: config.secrets.names, now },
    stores: {
      idempotency: stores.idempotency,
      nonces: stores.nonces,
      audit: stores.audit,
      ensureTables: () => stores.ensureTables(),
    },
    validators: {
      approvalRequest,
      servicenow: servicenowPayloadValidator(
        makeValidator<ServiceNowChange>(servicenowSchema),
        approvalRequest,
      ),
      teamsActivity: makeValidator<TeamsActivity>(teamsActivitySchema),
    },
    beginRequest(route) {
      const requestId = newId();
      return { requestId, started: now(), logger: logger.child({ requestId, route }) };
    },
  };
}

/**
 * Loaded once per process; requests never read the file. A broken policy denies everything it is asked.
 * `shown` is the configured path: what health and errors name, without revealing where the app is installed.
 */
function loadPolicyCheck(
  file: string,
  shown: string,
  logger: Logger,
): { check: PolicyCheck; gate?: PolicyGate; status: PolicyStatus } {
  try {
    const policy = loadPolicy(file);
    logger.info('policy.loaded', { file, sha256: policy.sha256, rules: policy.rules.length });
    return {
      check: (input) => evaluatePolicy(policy, input),
      gate: (request, caller) => gateCaller(policy, request, caller),
      status: { ok: true, file: shown, sha256: policy.sha256 },
    };
  } catch (error) {
    const problems: PolicyProblem[] =
      error instanceof PolicyError
        ? error.problems
        : [{ pointer: '', message: error instanceof Error ? error.message : String(error) }];
    logger.error('policy.invalid', { file, problems });
    return {
      check: () => ({
        allowed: false,
        status: 403,
        reasons: [
          {
            rule: 'policy',
            message: 'The policy document is invalid; nothing is allowed until it is fixed.',
          },
        ],
      }),
      status: {
        ok: false,
        file: shown,
        problems: problems.map((p) => ({ ...p, message: p.message.replace(file, shown) })),
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
