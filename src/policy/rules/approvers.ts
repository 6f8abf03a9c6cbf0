import { anyMatches, compileGlob } from '../glob.js';
import { personKey, presentString, quote } from '../text.js';
import type { CompiledApprovers, EvaluationContext } from '../types.js';

/**
 * approvers: who may have approved the change.
 *   required            the request must name an approver
 *   separationOfDuties  approver and requester must both be named and differ (case-insensitive, and
 *                       look-alike spellings such as full-width letters count as the same person)
 *   identities          approver must match one of these globs (e.g. "*@contoso.com"), or …
 *   groups              … the caller's verified token must carry one of these group object ids
 * When both identities and groups are listed, either one suffices.
 * Syntax and examples: docs/policy.md#approvers.
 */

export interface RawApprovers {
  required?: boolean;
  separationOfDuties?: boolean;
  identities?: string[];
  groups?: string[];
}

const list = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 256 },
};

export const approversSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    required: { type: 'boolean' },
    separationOfDuties: { type: 'boolean' },
    identities: list,
    groups: list,
  },
} as const;

export function compileApprovers(raw: RawApprovers): CompiledApprovers {
  return {
    required: raw.required ?? false,
    separationOfDuties: raw.separationOfDuties ?? false,
    ...(raw.identities ? { identities: raw.identities.map(compileGlob) } : {}),
    ...(raw.groups ? { groups: new Set(raw.groups.map((g) => g.toLowerCase())) } : {}),
  };
}

export function checkApprovers(approvers: CompiledApprovers, ctx: EvaluationContext): string[] {
  const approver = presentString(ctx.request.approver);
  const requester = presentString(ctx.request.requester);
  const messages: string[] = [];
  if (approver === undefined && (approvers.required || approvers.separationOfDuties)) {
    messages.push(
      'the request names no approver and this rule requires one; send "approver" (who approved the change)',
    );
  }
  if (approvers.separationOfDuties && approver !== undefined) {
    if (requester === undefined) {
      messages.push(
        'separation of duties needs to know who asked; send "requester" so it can be compared with the approver',
      );
    } else if (personKey(approver) === personKey(requester)) {
      messages.push(
        `approver ${quote(approver)} is also the requester; someone other than the requester must approve (separation of duties)`,
      );
    }
  }
  if (approvers.identities || approvers.groups) {
    const byIdentity = approvers.identities !== undefined && anyMatches(approvers.identities, approver);
    const callerGroups: readonly unknown[] = Array.isArray(ctx.caller.groups) ? ctx.caller.groups : [];
    const byGroup =
      approvers.groups !== undefined &&
      callerGroups.some(
        (group) => typeof group === 'string' && approvers.groups?.has(group.toLowerCase()) === true,
      );
    if (!byIdentity && !byGroup) {
      const parts: string[] = [];
      if (approvers.identities) {
        parts.push(
          approver === undefined
            ? 'the request names no approver to compare with the approvers this rule lists'
            : `approver ${quote(approver)} is not one of the approvers this rule lists`,
        );
      }
      if (approvers.groups) parts.push("the caller's token carries none of the rule's approver groups");
      messages.push(`${parts.join(', and ')}; have an allowed approver approve the change`);
    }
  }
  return messages;
}
