import { compileDescription, DEFAULT_MAX_LENGTH, DEFAULT_TEMPLATE } from './description.js';
import type { PolicyProblem } from './policy-error.js';
import { pointer } from './policy-error.js';
import { compileApprovers } from './rules/approvers.js';
import { callerMatches, compileCallers } from './rules/callers.js';
import { DISCOVERY_CALLER } from '../model/approval.js';
import { compileChangeWindows } from './rules/change-windows.js';
import { compileConsumers } from './rules/consumers.js';
import { compileTargets } from './rules/targets.js';
import { compileTickets } from './rules/tickets.js';
import { compileTransitions, DEFAULT_TRANSITIONS } from './rules/transitions.js';
import type { RawPolicy, RawRule } from './schema.js';
import type { CompiledRule, Policy } from './types.js';

/**
 * Turns a schema-valid document into the immutable structure evaluation runs on, checking what a schema
 * cannot express (id syntax, time zones, regular expressions, templates, rule-name clashes, and
 * conditions that would silently have no effect). Problems are appended; callers throw if any were found.
 */

function compileRule(raw: RawRule, at: string, problems: PolicyProblem[]): CompiledRule {
  const decisions = new Set(raw.decisions);
  problems.push(...expiryProblems(raw, decisions, at));
  if (decisions.has('Approved') && raw.consumers === undefined) {
    problems.push({
      pointer: pointer(at, 'consumers'),
      message:
        'is required on a rule that grants Approved; list the consumer subscriptions to accept (subscriptions: ["*"] accepts any, which a reviewer should then see)',
    });
  }
  if (!decisions.has('Approved') && raw.consumers !== undefined) {
    problems.push({
      pointer: pointer(at, 'consumers'),
      message:
        'has no effect on a rule that only grants Rejected (consumers are checked on approvals); remove it',
    });
  }
  return Object.freeze({
    name: raw.name,
    decisions,
    targets: compileTargets(raw.targets, pointer(at, 'targets'), problems),
    callers: compileCallers(raw.callers),
    ...(raw.consumers
      ? { consumers: compileConsumers(raw.consumers, pointer(at, 'consumers'), problems) }
      : {}),
    ...(raw.approvers ? { approvers: compileApprovers(raw.approvers) } : {}),
    ...(raw.tickets ? { tickets: compileTickets(raw.tickets, pointer(at, 'tickets'), problems) } : {}),
    ...(raw.expireAfterDays === undefined ? {} : { expireAfterDays: raw.expireAfterDays }),
    ...(raw.changeWindows
      ? { changeWindows: compileChangeWindows(raw.changeWindows, pointer(at, 'changeWindows'), problems) }
      : {}),
  });
}

/** An expiry is discovery rejecting: a rule that cannot reject, or does not list discovery, would never apply it. */
function expiryProblems(raw: RawRule, decisions: ReadonlySet<string>, at: string): PolicyProblem[] {
  if (raw.expireAfterDays === undefined) return [];
  const problems: PolicyProblem[] = [];
  if (!decisions.has('Rejected'))
    problems.push({
      pointer: pointer(at, 'expireAfterDays'),
      message:
        'has no effect on a rule that does not grant Rejected (discovery rejects what expires); add Rejected',
    });
  if (!callerMatches(compileCallers(raw.callers), DISCOVERY_CALLER))
    problems.push({
      pointer: pointer(at, 'expireAfterDays'),
      message:
        'has no effect on a rule whose callers do not admit the scan (the scan applies it): list { source: discovery } with no ids other than scan, no tenants and no schemes other than discovery',
    });
  return problems;
}

export function compilePolicy(
  raw: RawPolicy,
  file: string,
  sha256: string,
  problems: PolicyProblem[],
): Policy {
  const seen = new Map<string, number>();
  raw.rules.forEach((rule, index) => {
    const key = rule.name.toLowerCase();
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, index);
    } else {
      problems.push({
        pointer: pointer('/rules', index, 'name'),
        message: `repeats the name of /rules/${first} (names are compared case-insensitively and appear in every decision, so they must be unique)`,
      });
    }
  });
  const descriptionDefaults = raw.defaults?.connectionDescription;
  const policy: Policy = {
    version: 1,
    file,
    sha256,
    transitions: compileTransitions(
      raw.defaults?.transitions ?? DEFAULT_TRANSITIONS,
      '/defaults/transitions',
      problems,
    ),
    connectionDescription: compileDescription(
      descriptionDefaults?.template ?? DEFAULT_TEMPLATE,
      descriptionDefaults?.maxLength ?? DEFAULT_MAX_LENGTH,
      '/defaults/connectionDescription',
      problems,
    ),
    rules: Object.freeze(
      raw.rules.map((rule, index) => compileRule(rule, pointer('/rules', index), problems)),
    ),
  };
  return Object.freeze(policy);
}
