import { randomUUID } from 'node:crypto';
import type { AppDeps, AppState } from '../composition-root.js';
import { problem, problemResponse } from '../http/problem.js';
import type { RouteDefinition, RouteHandler } from '../http/route-types.js';
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
    state.ok ? make(state.deps) : notConfigured(state.problems);
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
      handler: configured(approvalsHandler),
    },
    {
      name: 'approvals-servicenow',
      methods: ['POST'],
      route: 'approvals/servicenow',
      authLevel: 'function',
      handler: configured(servicenowHandler),
    },
    {
      name: 'approvals-teams',
      methods: ['POST'],
      route: 'approvals/teams',
      authLevel: 'function',
      handler: configured(teamsHandler),
    },
    {
      name: 'approvals-slack',
      methods: ['POST'],
      route: 'approvals/slack',
      authLevel: 'function',
      handler: configured(slackHandler),
    },
  ];
}

function notConfigured(problems: string[]): RouteHandler {
  return async () =>
    problemResponse(
      problem(
        'notConfigured',
        randomUUID(),
        `The app's configuration is invalid (${problems.length} problem(s), see GET /api/health); fix the app settings and restart.`,
      ),
      { 'retry-after': '60' },
    );
}
