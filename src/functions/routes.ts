import { randomUUID } from 'node:crypto';
import type { AppDeps, AppState } from '../composition-root.js';
import { problem, problemResponse } from '../http/problem.js';
import type { RouteDefinition, RouteHandler } from '../http/route-types.js';
import { approvalRecordHandler } from './approval-record.js';
import { approvalsHandler } from './approvals.js';
import { healthHandler } from './health.js';
import { servicenowHandler } from './servicenow.js';
import { slackHandler } from './slack.js';
import { teamsHandler } from './teams.js';

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
    return policyStatus.ok
      ? logged(state.deps, make(state.deps))
      : notConfigured(
          policyStatus.problems.map((p) => `${policyStatus.file} ${p.pointer || '(document)'}: ${p.message}`),
          'policy',
        );
  };
  return [
    {
      name: 'health',
      methods: ['GET'],
      route: 'health',
      authLevel: 'anonymous',
      handler: healthHandler(state),
    },
    {
      name: 'approvals',
      methods: ['POST'],
      route: 'approvals',
      authLevel: 'function',
      handler: writes(approvalsHandler),
    },
    {
      name: 'approvals-servicenow',
      methods: ['POST'],
      route: 'approvals/servicenow',
      authLevel: 'function',
      handler: writes(servicenowHandler),
    },
    {
      name: 'approvals-teams',
      methods: ['POST'],
      route: 'approvals/teams',
      authLevel: 'function',
      handler: writes(teamsHandler),
    },
    {
      name: 'approvals-slack',
      methods: ['POST'],
      route: 'approvals/slack',
      authLevel: 'function',
      handler: writes(slackHandler),
    },
    {
      name: 'approval-record',
      methods: ['GET'],
      route: 'approvals/{id}',
      authLevel: 'function',
      handler: configured(approvalRecordHandler),
    },
  ];
}

/** One line per answered request, refusals included: status, duration and the request id to find the rest. */
function logged(deps: AppDeps, handler: RouteHandler): RouteHandler {
  return async (request) => {
    const started = deps.now();
    const response = await handler(request);
    const fields = {
      requestId: response.headers['x-request-id'],
      method: request.method,
      path: request.url.pathname,
      status: response.status,
      durationMs: deps.now() - started,
    };
    if (response.status >= 500) deps.logger.error('request.completed', fields);
    else if (response.status >= 400) deps.logger.warn('request.completed', fields);
    else deps.logger.info('request.completed', fields);
    return response;
  };
}

function notConfigured(problems: string[], what: 'configuration' | 'policy' = 'configuration'): RouteHandler {
  const detail =
    what === 'policy'
      ? `The policy document is invalid, so no approval is applied: ${problems.join('; ')}. Fix it (npm run policy -- check) and redeploy.`
      : `The app's configuration is invalid (${problems.length} problem(s), see GET /api/health); fix the app settings and restart.`;
  return async () => problemResponse(problem('notConfigured', randomUUID(), detail), { 'retry-after': '60' });
}
