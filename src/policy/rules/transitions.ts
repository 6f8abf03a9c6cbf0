import type { Decision } from '../../model/approval.js';
import type { PolicyProblem } from '../policy-error.js';
import { pointer } from '../policy-error.js';
import { quote } from '../text.js';
import type { CompiledTransitions, KnownStatus } from '../types.js';

/**
 * transitions (policy-wide, under defaults): which decision may be applied from which current status.
 * Asking for the status the connection already has is always allowed here (the pipeline answers
 * "unchanged", after the other rules have still been checked). Refusals from this rule are answered 409.
 * Azure documents that a Rejected connection cannot be approved again and that Disconnected is terminal, so
 * a policy cannot allow those; a status Azure may add later is refused until this code knows it.
 * Syntax and examples: docs/policy.md#transitions-defaults.
 */

export type RawTransitions = Partial<Record<KnownStatus, Decision[]>>;

const STATUSES: KnownStatus[] = ['Pending', 'Approved', 'Rejected', 'Disconnected'];
const decisions = {
  type: 'array',
  uniqueItems: true,
  items: { type: 'string', enum: ['Approved', 'Rejected'] },
};

export const transitionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { Pending: decisions, Approved: decisions, Rejected: decisions, Disconnected: decisions },
} as const;

export const DEFAULT_TRANSITIONS: RawTransitions = {
  Pending: ['Approved', 'Rejected'],
  Approved: ['Rejected'],
  Rejected: [],
  Disconnected: [],
};

export function compileTransitions(
  raw: RawTransitions,
  at: string,
  problems: PolicyProblem[],
): CompiledTransitions {
  if (raw.Rejected?.includes('Approved')) {
    problems.push({
      pointer: pointer(at, 'Rejected'),
      message:
        'Azure cannot approve a connection once rejected (it must be deleted and re-created), so Rejected → Approved cannot be allowed',
    });
  }
  if ((raw.Disconnected ?? []).length > 0) {
    problems.push({
      pointer: pointer(at, 'Disconnected'),
      message: 'Disconnected is terminal in Azure; leave this list empty',
    });
  }
  return new Map(STATUSES.map((status) => [status.toLowerCase(), new Set(raw[status] ?? [])]));
}

export function checkTransition(
  transitions: CompiledTransitions,
  status: unknown,
  decision: Decision,
): string[] {
  const current = typeof status === 'string' ? status.trim() : '';
  const allowed = transitions.get(current.toLowerCase());
  if (allowed === undefined) {
    return [
      `the connection's status ${current === '' ? '(none)' : quote(current)} is not one this webhook knows (Pending, Approved, Rejected, Disconnected), so it changes nothing; check the connection in the portal`,
    ];
  }
  if (current.toLowerCase() === decision.toLowerCase() || allowed.has(decision)) return [];
  switch (current.toLowerCase()) {
    case 'disconnected':
      return [
        'the connection is Disconnected, which Azure treats as final; the consumer must delete and re-create its private endpoint',
      ];
    case 'rejected':
      return [
        'the connection was Rejected and Azure cannot approve a rejected connection; the consumer must delete and re-create its private endpoint, then approve the new connection',
      ];
    default:
      return [`this policy does not allow ${current} → ${decision}; see defaults.transitions`];
  }
}
