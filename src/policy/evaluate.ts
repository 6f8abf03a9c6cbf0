import type { Decision, PolicyReason } from '../model/approval.js';
import { renderDescription } from './description.js';
import type { ConnectionId } from '../model/resource-id.js';
import {
  CONNECTION_ID_FORM,
  parsePrivateEndpointId,
  resourceName,
  sameConnection,
  tryParseConnectionId,
} from '../model/resource-id.js';
import { checkApprovers } from './rules/approvers.js';
import { callerMatches, checkCallers } from './rules/callers.js';
import { checkChangeWindows } from './rules/change-windows.js';
import { checkConsumers } from './rules/consumers.js';
import { checkDecisions } from './rules/decisions.js';
import { targetsCover } from './rules/targets.js';
import { checkTickets } from './rules/tickets.js';
import { checkTransition } from './rules/transitions.js';
import { presentString, quote } from './text.js';
import type { CompiledRule, EvaluationContext, Policy, PolicyEvaluation, PolicyInput } from './types.js';

/**
 * Deny by default. Order (docs/policy.md has the long form):
 *  1. the request must name a private endpoint connection of a known type and a decision → else 403
 *  2. some rule's targets must cover the connection                                     → else 403
 *  3. the caller must be listed by one of those rules; a caller that is not learns only
 *     that it is not allowed — nothing derived from the connection's current state      → else 403
 *  4. every covering rule is checked in full (decisions, callers, consumers, approvers,
 *     tickets, changeWindows) and the policy-wide transitions rule is checked
 *  5. allowed when transitions allow and at least one covering rule passes every check;
 *     otherwise every failing check is reported, 409 if transitions refused, else 403.
 * Rules only ever grant: adding a rule can widen access, never narrow it.
 */

type Kind = 'decisions' | 'callers' | 'consumers' | 'approvers' | 'tickets' | 'changeWindows';

const reasonsOf = (rule: CompiledRule, kind: Kind, messages: string[]): PolicyReason[] =>
  messages.map((message) => ({ rule: `${rule.name}.${kind}`, message }));

function checkRule(rule: CompiledRule, ctx: EvaluationContext, decision: Decision): PolicyReason[] {
  return [
    ...reasonsOf(rule, 'decisions', checkDecisions(rule.decisions, decision)),
    ...reasonsOf(rule, 'callers', checkCallers(rule.callers, ctx.caller)),
    ...(rule.consumers ? reasonsOf(rule, 'consumers', checkConsumers(rule.consumers, ctx)) : []),
    ...(rule.approvers ? reasonsOf(rule, 'approvers', checkApprovers(rule.approvers, ctx)) : []),
    ...(rule.tickets ? reasonsOf(rule, 'tickets', checkTickets(rule.tickets, ctx)) : []),
    ...(rule.changeWindows
      ? reasonsOf(rule, 'changeWindows', checkChangeWindows(rule.changeWindows, ctx))
      : []),
  ];
}

const deny = (status: 403 | 409, reasons: PolicyReason[]): PolicyEvaluation => ({
  allowed: false,
  status,
  reasons,
});

type Gate =
  { denied: PolicyEvaluation } | { denied?: undefined; target: ConnectionId; covering: CompiledRule[] };

/** Whether some rule covers the target and lists the caller: nothing here depends on the connection's state. */
function gate(policy: Policy, request: PolicyInput['request'], caller: PolicyInput['caller']): Gate {
  const target = tryParseConnectionId(request.connectionId);
  if (target === undefined) {
    return {
      denied: deny(403, [
        {
          rule: 'targets',
          message: `connectionId is not a private endpoint connection id of a known resource type (${CONNECTION_ID_FORM})`,
        },
      ]),
    };
  }
  const covering = policy.rules.filter((rule) => targetsCover(rule.targets, target));
  if (covering.length === 0) {
    return {
      denied: deny(403, [
        {
          rule: 'targets',
          message: `no policy rule covers ${target.provider.type} ${quote(resourceName(target))} in resource group ${quote(target.resourceGroup)} of subscription ${quote(target.subscriptionId)}; add it to a rule's targets if it should be managed here`,
        },
      ]),
    };
  }
  if (!covering.some((rule) => callerMatches(rule.callers, caller))) {
    return {
      denied: deny(
        403,
        covering.flatMap((rule) => reasonsOf(rule, 'callers', checkCallers(rule.callers, caller))),
      ),
    };
  }

  return { target, covering };
}

/**
 * expireAfterDays: how long discovery lets a connection wait Pending before rejecting it, from the rules that
 * cover it, list the caller (discovery) and allow Rejected — the shortest. Undefined: it never expires.
 */
export function expiryFor(
  policy: Policy,
  target: ConnectionId,
  caller: PolicyInput['caller'],
): { days: number; rule: string } | undefined {
  const expiring = policy.rules.filter(
    (rule) =>
      rule.expireAfterDays !== undefined &&
      rule.decisions.has('Rejected') &&
      targetsCover(rule.targets, target) &&
      callerMatches(rule.callers, caller),
  );
  const shortest = expiring.sort((a, b) => (a.expireAfterDays ?? 0) - (b.expireAfterDays ?? 0))[0];
  return shortest ? { days: shortest.expireAfterDays ?? 0, rule: shortest.name } : undefined;
}

/**
 * The state-free part of the decision, for callers to ask before they read anything from Resource Manager: a
 * caller no rule lists for this resource cannot use the app's identity to learn about it. Undefined when the
 * caller may go on (the full evaluation still decides; it also fails closed on any error).
 */
export function gateCaller(
  policy: Policy,
  request: PolicyInput['request'],
  caller: PolicyInput['caller'],
): PolicyEvaluation | undefined {
  try {
    return gate(policy, request, caller).denied;
  } catch {
    return undefined;
  }
}

function evaluateOrThrow(policy: Policy, input: PolicyInput): PolicyEvaluation {
  const { request, caller, connection } = input;
  const decision = request.decision;
  if (decision !== 'Approved' && decision !== 'Rejected') {
    return deny(403, [{ rule: 'request', message: 'decision must be Approved or Rejected' }]);
  }
  const gated = gate(policy, request, caller);
  if (gated.denied) return gated.denied;
  const { target, covering } = gated;

  // From here the caller is allowed to act on this resource, so reasons may reflect the connection's state.
  const stateId = presentString(connection.id);
  const stateParts = stateId === undefined ? undefined : tryParseConnectionId(stateId);
  if (stateId !== undefined && (stateParts === undefined || !sameConnection(stateParts, target))) {
    // Defence in depth: consumers and transitions would otherwise be judged on some other connection's state.
    return deny(403, [
      {
        rule: 'connection',
        message: `the connection state handed to policy is for ${quote(stateId, 300)}, not the requested connection; nothing was decided`,
      },
    ]);
  }
  const privateEndpointId = presentString(connection.privateEndpointId);
  const consumer = privateEndpointId === undefined ? undefined : parsePrivateEndpointId(privateEndpointId);
  const ctx: EvaluationContext = {
    request,
    caller,
    connection,
    now: input.now,
    target,
    ...(consumer ? { consumer } : {}),
    ...(typeof input.consumerTenantId === 'string' ? { consumerTenantId: input.consumerTenantId } : {}),
  };

  const transition = checkTransition(policy.transitions, connection.status, decision).map((message) => ({
    rule: 'transitions',
    message,
  }));
  const results = covering.map((rule) => ({ rule, reasons: checkRule(rule, ctx, decision) }));
  const granting = results.find((result) => result.reasons.length === 0)?.rule;

  if (granting !== undefined && transition.length === 0) {
    const description = renderDescription(policy.connectionDescription, {
      decision,
      approver: request.approver,
      requester: request.requester,
      source: caller.source,
      'ticket.id': request.ticket?.id,
      'ticket.system': request.ticket?.system,
      description: request.description,
      'connection.description': connection.description,
      rule: granting.name,
    });
    const allowed: PolicyEvaluation = {
      allowed: true,
      status: 200,
      reasons: [{ rule: granting.name, message: `${decision} allowed by rule "${granting.name}"` }],
    };
    // Empty when the template rendered nothing: then no description is written, and never the caller's raw text.
    allowed.description = description;
    return allowed;
  }
  // When some rule grants and only the transition is refused, the other rules' complaints are noise.
  const reasons =
    granting !== undefined ? transition : [...transition, ...results.flatMap((result) => result.reasons)];
  return deny(transition.length > 0 ? 409 : 403, reasons);
}

/**
 * Decides one request. Pure: no I/O, no clock, no state kept between calls. Never throws; if something
 * unforeseen breaks inside, the answer is a denial (fail closed).
 */
export function evaluatePolicy(policy: Policy, input: PolicyInput): PolicyEvaluation {
  try {
    return evaluateOrThrow(policy, input);
  } catch {
    return deny(403, [
      { rule: 'policy', message: 'the policy could not be evaluated for this request, so it is refused' },
    ]);
  }
}
