import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import type { ApprovalRequest, CallerIdentity } from './approval/model.js';
import type { PipelineDeps, PolicyCheck } from './approval/pipeline.js';
import { createArmClient } from './arm/arm-client.js';
import type { Config } from './config.js';
import { createCredential } from './credential.js';
import type { RequestScope } from './http/intake.js';
import type { RouteRequest } from './http/route-types.js';
import type { LogSink, Logger } from './logger.js';
import { consoleSink, createLogger } from './logger.js';
import type { GenericValidator } from './sources/generic.js';
import { genericSchema } from './sources/generic.js';
import { createValidatorFactory } from './sources/schema-validator.js';

/** Everything a route needs, built once per process. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  now: () => number;
  newId: () => string;
  pipeline: PipelineDeps;
  validators: { approvalRequest: GenericValidator };
  beginRequest(route: string): RequestScope;
  authenticateGeneric(request: RouteRequest): CallerIdentity;
}

/** Replaceable parts, for local stand-ins: the certificate of a Resource Manager stand-in, a log sink, a clock. */
export interface AppOverrides {
  credential?: TokenCredential;
  armTls?: { ca: string };
  logSink?: LogSink;
  now?: () => number;
  policy?: PolicyCheck;
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
  const makeValidator = createValidatorFactory();
  const policy: PolicyCheck = overrides.policy ?? (() => ({ allowed: true, reasons: [], status: 200 }));
  return {
    config,
    logger,
    now,
    newId,
    pipeline: { arm, policy, now, newId },
    validators: { approvalRequest: makeValidator<ApprovalRequest>(genericSchema) },
    beginRequest(route) {
      const requestId = newId();
      return { requestId, started: now(), logger: logger.child({ requestId, route }) };
    },
    authenticateGeneric() {
      // Issue 3 replaces this with Entra ID / Standard Webhooks; until then the Functions key guards the route.
      return { source: 'generic', scheme: 'function-key', id: 'function-key' };
    },
  };
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
