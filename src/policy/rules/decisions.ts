import type { Decision } from '../../model/approval.js';

/**
 * decisions: what a rule grants. Splitting approvals and rejections into separate rules is how a policy says
 * "ServiceNow may approve, Teams and Slack may only reject": each rule lists its own callers and conditions.
 *
 *   decisions: [Approved, Rejected]
 */

export const decisionsSchema = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', enum: ['Approved', 'Rejected'] },
} as const;

export function checkDecisions(granted: ReadonlySet<Decision>, decision: Decision): string[] {
  return granted.has(decision)
    ? []
    : [
        `this rule grants only ${[...granted].join(' and ')}, not ${decision}; ${decision} needs a rule that grants it`,
      ];
}
