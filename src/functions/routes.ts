import { randomUUID } from 'node:crypto';
import type { AppDeps, AppState, PolicyProblemPlace } from '../composition-root.js';
import { NOT_CONFIGURED_RETRY_SECONDS, problem, problemResponse } from '../http/problem.js';
import type { QueueDefinition, RouteDefinition, RouteHandler, TimerDefinition } from '../http/route-types.js';
import { approvalOutcomeRoute } from './approval-outcome.js';
import { approvalRecordRoute } from './approval-record.js';
import { approvalWorker } from './approval-worker.js';
import { approvalsRoute } from './approvals.js';
import { discoveryListRoute } from './discovery-list.js';
import { discoveryRunRoute } from './discovery-run.js';
import { discoveryTimer } from './discovery-timer.js';
import { healthRoute } from './health.js';
import { retentionTimer } from './retention.js';
import { sweepTimer } from './sweep.js';
import { servicenowRoute } from './servicenow.js';
import { slackRoute } from './slack.js';
import { slackInteractiveRoute } from './slack-interactive.js';
import { teamsRoute } from './teams.js';

type Access = 'open' | 'read' | 'write';

/** A read route answers HEAD as it answers GET, without the body (RFC 9110: every server supports both). */
const READ_METHODS = ['GET', 'HEAD'] as const;

interface RouteSpec extends Omit<RouteDefinition, 'handler'> {
  /** `write` needs a valid policy; `read` only a valid configuration; `open` (health) answers regardless. */
  access: Access;
  make: (deps: AppDeps) => RouteHandler;
}

const ROUTES: readonly RouteSpec[] = (
  [
    { name: 'approvals', methods: ['POST'], route: 'approvals', access: 'write', make: approvalsRoute },
    {
      name: 'approvals-servicenow',
      methods: ['POST'],
      route: 'approvals/servicenow',
      access: 'write',
      make: servicenowRoute,
    },
    {
      name: 'approvals-teams',
      methods: ['POST'],
      route: 'approvals/teams',
      access: 'write',
      make: teamsRoute,
    },
    {
      name: 'approvals-slack',
      methods: ['POST'],
      route: 'approvals/slack',
      access: 'write',
      make: slackRoute,
    },
    {
      name: 'approvals-slack-interactive',
      methods: ['POST'],
      route: 'approvals/slack/interactive',
      access: 'write',
      make: slackInteractiveRoute,
    },
    {
      name: 'approval-record',
      methods: READ_METHODS,
      route: 'approvals/{id}',
      access: 'read',
      make: approvalRecordRoute,
    },
    {
      name: 'approval-outcome',
      methods: READ_METHODS,
      route: 'approvals/{id}/outcome',
      access: 'read',
      make: approvalOutcomeRoute,
    },
    {
      name: 'discovery-run',
      methods: ['POST'],
      route: 'discovery/run',
      access: 'write',
      make: discoveryRunRoute,
    },
    {
      name: 'discovery-list',
      methods: READ_METHODS,
      route: 'discovery',
      access: 'read',
      make: discoveryListRoute,
    },
  ] as const
).map((spec) => ({ ...spec, authLevel: 'function' as const }));

/**
 * The one route table: src/index.ts registers it with Azure Functions and dev/host.ts serves it locally, so the
 * two cannot drift.
 */
export function createRoutes(state: AppState): RouteDefinition[] {
  const health: RouteDefinition = {
    name: 'health',
    methods: READ_METHODS,
    route: 'health',
    authLevel: 'anonymous',
    handler: healthRoute(state),
  };
  return [
    health,
    ...ROUTES.map(({ access, make, ...definition }) => ({
      ...definition,
      handler: guarded(state, access, make),
    })),
  ];
}

/** Writes need a valid policy; reading the audit trail does not; neither works without a valid configuration. */
function guarded(state: AppState, access: Access, make: (deps: AppDeps) => RouteHandler): RouteHandler {
  if (!state.ok) return notConfigured(state.problems);
  const { policyStatus } = state.deps;
  if (access === 'write' && !policyStatus.ok) {
    return notConfigured(policyStatus.problems.map(placeOf), 'policy', policyStatus.file);
  }
  return logged(state.deps, make(state.deps));
}

/** A problem's place as the 503 shows it: its pointer, and its line and column where the file has them. */
function placeOf(place: PolicyProblemPlace): string {
  const at = place.pointer || '(document)';
  return place.line === undefined
    ? at
    : `${at} (line ${place.line}${place.column === undefined ? '' : `:${place.column}`})`;
}

/** The queue-triggered functions: approvals that continue after their caller was answered. */
export function createQueues(state: AppState): QueueDefinition[] {
  return state.ok ? [approvalWorker(state.deps)] : [];
}

/** The timer-triggered functions, registered beside the routes. */
export function createTimers(state: AppState): TimerDefinition[] {
  return state.ok ? [retentionTimer(state.deps), sweepTimer(state.deps), ...discoveryTimer(state.deps)] : [];
}

/** One line per answered request, refusals included: status, duration, why, and the request id to find the rest. */
function logged(deps: AppDeps, handler: RouteHandler): RouteHandler {
  return async (request, context) => {
    const started = deps.now();
    const response = await handler(request, context);
    const fields = {
      requestId: response.headers['x-request-id'],
      method: request.method,
      path: request.url.pathname,
      status: response.status,
      durationMs: deps.now() - started,
      ...response.log,
    };
    const logger = deps.invocationLogger(context);
    // A busy instance is load, not a fault: a flood would otherwise write an error line per request it turns away.
    const busy = response.log?.failed === 'instance-busy';
    if (response.status >= 500 && !busy) logger.error('request.completed', fields);
    else if (response.status >= 400) logger.warn('request.completed', fields);
    else logger.info('request.completed', fields);
    const { log: _log, ...sent } = response;
    return sent;
  };
}

function notConfigured(
  problems: string[],
  what: 'configuration' | 'policy' = 'configuration',
  file = '',
): RouteHandler {
  const detail =
    what === 'policy'
      ? `The policy document ${file} is invalid, so no approval is applied (${problems.length} problem(s), at ${problems.join(', ')}). The 'policy.invalid' log line and 'npm run policy -- check ${file}' say what is wrong; fix it and redeploy.`
      : `The app's configuration is invalid (${problems.length} problem(s), see GET /api/health); fix the app settings and restart.`;
  return async () =>
    problemResponse(problem('notConfigured', randomUUID(), detail), {
      'retry-after': String(NOT_CONFIGURED_RETRY_SECONDS),
    });
}
