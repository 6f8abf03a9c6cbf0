import { fileURLToPath } from 'node:url';
import type { ApprovalRequest, CallerIdentity, ConnectionState } from '../../src/model/approval.js';
import { evaluatePolicy, loadPolicy } from '../../src/policy/index.js';
import type { Policy, PolicyInput } from '../../src/policy/index.js';
import type { BenchContext, Scenario } from '../context.js';
import { percentile } from '../stats.js';
import type { ScenarioResult } from '../types.js';

/**
 * (g) Policy evaluation alone, in this process, on the strict example policy (every rule kind: targets,
 * consumers, callers, approvers, tickets, change windows, transitions, description): the cost one request pays
 * for policy, to compare with the dry-run path it is part of.
 */

export const POLICY_ROW = '(g) policy evaluation (production example)';
const PRODUCTION = fileURLToPath(new URL('../../../policy/examples/production.yaml', import.meta.url));
const BATCH = 200;
const BATCHES = 200;

const connection =
  '/subscriptions/3f2c1b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b/resourceGroups/rg-prod-weu/providers/Microsoft.ContainerService/managedClusters/aks-prod-weu/privateEndpointConnections/pe-payments.0001';

function inputs(policy: Policy): PolicyInput[] {
  void policy;
  const caller: CallerIdentity = {
    source: 'servicenow',
    scheme: 'standard-webhooks',
    id: 'servicenow-webhook-secret',
  };
  const state: ConnectionState = {
    id: connection,
    name: 'pe-payments.0001',
    status: 'Pending',
    privateEndpointId:
      '/subscriptions/6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d/resourceGroups/rg-payments/providers/Microsoft.Network/privateEndpoints/pe-payments',
  };
  const approve: ApprovalRequest = {
    connectionId: connection,
    decision: 'Approved',
    description: 'Payments team needs the API server',
    ticket: { system: 'servicenow', id: 'CHG0031234', state: 'implement' },
    requester: 'alice@contoso.com',
    approver: 'bob@contoso.com',
  };
  const weekday = Date.parse('2026-11-25T10:00:00Z');
  return [
    { request: approve, caller, connection: state, now: weekday },
    { request: { ...approve, approver: 'alice@contoso.com' }, caller, connection: state, now: weekday },
    { request: approve, caller, connection: { ...state, status: 'Rejected' }, now: weekday },
    {
      request: { ...approve, decision: 'Rejected' },
      caller: { ...caller, source: 'slack', scheme: 'slack-v0', id: 'U0123ABCD' },
      connection: state,
      now: weekday,
    },
  ];
}

export const policyCostScenario: Scenario = {
  id: 'policy',
  title: POLICY_ROW,
  connectionsNeeded: () => 0,
  async run(_ctx: BenchContext): Promise<ScenarioResult> {
    const policy = loadPolicy(PRODUCTION);
    const cases = inputs(policy);
    let allowed = 0;
    for (let i = 0; i < 2_000; i++) evaluatePolicy(policy, cases[i % cases.length] as PolicyInput);
    const perEvaluation: number[] = [];
    const started = performance.now();
    for (let b = 0; b < BATCHES; b++) {
      const t = performance.now();
      for (let i = 0; i < BATCH; i++) {
        if (evaluatePolicy(policy, cases[i % cases.length] as PolicyInput).allowed) allowed++;
      }
      perEvaluation.push((performance.now() - t) / BATCH);
    }
    const total = BATCH * BATCHES;
    const seconds = (performance.now() - started) / 1000;
    const sorted = [...perEvaluation].sort((a, b) => a - b);
    return {
      rows: [
        {
          name: POLICY_ROW,
          reqPerSec: total / seconds,
          p50Ms: percentile(sorted, 50),
          p99Ms: percentile(sorted, 99),
          extra: { n: total, unit: 'one evaluation, batch medians', allowed: `${allowed}/${total}` },
        },
      ],
      figures: [],
      checks: [
        {
          name: '(g) the mix is both allowed and denied',
          ok: allowed > 0 && allowed < total,
          detail: `${allowed} of ${total} evaluations allowed`,
        },
      ],
    };
  },
};
