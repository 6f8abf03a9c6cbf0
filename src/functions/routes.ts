import { randomUUID } from 'node:crypto';
import type { AppDeps, AppState } from '../composition-root.js';
import { problem, problemResponse } from '../http/problem.js';
import type { RouteDefinition, RouteHandler, TimerDefinition } from '../http/route-types.js';
import { approvalRecordRoute } from './approval-record.js';
import { approvalsRoute } from './approvals.js';
import { healthRoute } from './health.js';
import { retentionTimer } from './retention.js';
import { servicenowRoute } from './servicenow.js';
import { slackRoute } from './slack.js';
import { teamsRoute } from './teams.js';

/**
 * The one route table: src/index.ts registers it with Azure Functions and dev/host.ts serves it locally, so the
 * two cannot drift.
 */
export function createRoutes(state: AppState): RouteDefinition[] {
  const configured = (make: (deps: AppDeps) => RouteHandler): RouteHandler =>
    state.ok ? logged(state.deps, make(state.deps)) : notConfigured(state.problems);
  // Writes need a valid policy; reading the audit trail does not.
  const writes = (make: (deps: AppDeps) => RouteHandler): RouteHandler => {
    if (!state.ok) return notConfigured(state.problems);
    const { policyStatus } = state.deps;
    if (policyStatus.ok) return logged(state.deps, make(state.deps));
    const problems = policyStatus.problems.map(
      (p) => `${policyStatus.file} ${p.pointer || '(document)'}: ${p.message}`,
    );
    return notConfigured(problems, 'policy');
  };
  return [
    {
      name: 'health',
      methods: ['GET'],
      route: 'health',
      authLevel: 'anonymous',
      handler: healthRoute(state),
    },
    {
      name: 'approvals',
      methods: ['POST'],
      route: 'approvals',
      authLevel: 'function',
      handler: writes(approvalsRoute),
    },
    {
      name: 'approvals-servicenow',
      methods: ['POST'],
      route: 'approvals/servicenow',
      authLevel: 'function',
      handler: writes(servicenowRoute),
    },
    {
      name: 'approvals-teams',
      methods: ['POST'],
      route: 'approvals/teams',
      authLevel: 'function',
      handler: writes(teamsRoute),
    },
    {
      name: 'approvals-slack',
      methods: ['POST'],
      route: 'approvals/slack',
      authLevel: 'function',
      handler: writes(slackRoute),
    },
    {
      name: 'approval-record',
      methods: ['GET'],
      route: 'approvals/{id}',
      authLevel: 'function',
      handler: configured(approvalRecordRoute),
    },
  ];
}

/** The timer-triggered functions, registered beside the routes. */
export function createTimers(state: AppState): TimerDefinition[] {
  return state.ok ? [retentionTimer(state.deps)] : [];
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
    if (response.status >= 500) logger.error('request.completed', fields);
    else if (response.status >= 400) logger.warn('request.completed', fields);
    else logger.info('request.completed', fields);
    const { log: _log, ...sent } = response;
    return sent;
  };
}

function notConfigured(problems: string[], what: 'configuration' | 'policy' = 'configuration'): RouteHandler {
  const detail =
    what === 'policy'
      ? `The policy document is invalid, so no approval is applied: ${problems.join('; ')}. Fix it (npm run policy -- check) and redeploy.`
      : `The app's configuration is invalid (${problems.length} problem(s), see GET /api/health); fix the app settings and restart.`;
  return async () => problemResponse(problem('notConfigured', randomUUID(), detail), { 'retry-after': '60' });
}
