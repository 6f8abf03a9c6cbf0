import type { PolicyProblem } from '../policy-error.js';
import { pointer } from '../policy-error.js';
import { MAX_OPEN_REPEATS, nestedRepeat, openRepeats } from '../nested-repeat.js';
import { presentString, quote } from '../text.js';
import type { CompiledTickets, EvaluationContext } from '../types.js';

/**
 * tickets: the change record behind the request.
 *   required   the request must carry a ticket; always written (true or false), since whether a request without a
 *              ticket passes is how wide the rule reaches
 *   systems    accepted ticket systems (case-insensitive)
 *   idPattern  regular expression the WHOLE id must match (it is anchored for you, so "CHG\d{7}" and
 *              "^CHG\d{7}$" mean the same and an alternation cannot match a fragment)
 *   states     accepted ticket states (case-insensitive); a ticket without a state then fails
 * A ticket that is present is always checked against systems/idPattern/states, even when not required.
 * Syntax and examples: docs/policy.md#tickets.
 */

export interface RawTickets {
  required: boolean;
  systems?: string[];
  idPattern?: string;
  states?: string[];
}

// Ticket ids are short; refusing long ones up front keeps any author-written pattern cheap to run.
const MAX_TICKET_ID = 128;

const names = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 64 },
};

export const ticketsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['required'],
  properties: {
    required: { type: 'boolean' },
    systems: names,
    idPattern: { type: 'string', minLength: 1, maxLength: 256 },
    states: names,
  },
} as const;

const lowerSet = (items: readonly string[]): ReadonlySet<string> =>
  new Set(items.map((i) => i.toLowerCase()));

export function compileTickets(raw: RawTickets, at: string, problems: PolicyProblem[]): CompiledTickets {
  const idPattern = raw.idPattern === undefined ? undefined : compileIdPattern(raw.idPattern, at, problems);
  return {
    required: raw.required,
    ...(raw.systems ? { systems: lowerSet(raw.systems), systemsLabel: raw.systems.join(', ') } : {}),
    ...(idPattern ? { idPattern, idPatternLabel: raw.idPattern } : {}),
    ...(raw.states ? { states: lowerSet(raw.states), statesLabel: raw.states.join(', ') } : {}),
  };
}

function compileIdPattern(source: string, at: string, problems: PolicyProblem[]): RegExp | undefined {
  try {
    // Compiled alone first: a pattern such as "a)|(b" must not be able to break out of the anchoring group.
    new RegExp(source, 'u');
  } catch (error) {
    problems.push({
      pointer: pointer(at, 'idPattern'),
      message: `is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`,
    });
    return undefined;
  }
  // Any caller the rule lists chooses the ids it is run on: a pattern that can backtrack exponentially is refused.
  const nested = nestedRepeat(source);
  if (nested !== undefined) {
    problems.push({
      pointer: pointer(at, 'idPattern'),
      message: `repeats a group that itself repeats (${nested}), which can take exponential time on a crafted id; write it without the nested repeat, e.g. CHG\\d{7}`,
    });
    return undefined;
  }
  const open = openRepeats(source);
  if (open > MAX_OPEN_REPEATS) {
    problems.push({
      pointer: pointer(at, 'idPattern'),
      message: `has ${open} open-ended repeats (*, +, {n,}) one after another, which can take polynomial time on a crafted id; keep to ${MAX_OPEN_REPEATS} and bound the rest, e.g. CHG\\d{7} or [A-Z]{2,10}-\\d+`,
    });
    return undefined;
  }
  return new RegExp(`^(?:${source})$`, 'u');
}

export function checkTickets(tickets: CompiledTickets, ctx: EvaluationContext): string[] {
  const raw: unknown = ctx.request.ticket;
  const ticket = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : undefined;
  if (ticket === undefined) {
    return tickets.required
      ? ['this rule requires a ticket; send "ticket" with the change record (system, id, state)']
      : [];
  }
  const messages: string[] = [];
  const system = presentString(ticket.system);
  if (tickets.systems && (system === undefined || !tickets.systems.has(system.toLowerCase()))) {
    messages.push(
      `ticket system ${system === undefined ? '(none)' : quote(system)} is not accepted here; use one of: ${tickets.systemsLabel ?? ''}`,
    );
  }
  // The pattern is matched against the whole id as sent: a tab or line separator around it is not trimmed away.
  const id = presentString(ticket.id) === undefined ? undefined : String(ticket.id);
  if (tickets.required && !tickets.idPattern && id === undefined) {
    messages.push('this rule requires a ticket with an id; send the change record\'s number as "ticket.id"');
  }
  if (tickets.idPattern && (id === undefined || id.length > MAX_TICKET_ID || !tickets.idPattern.test(id))) {
    messages.push(
      `ticket id ${id === undefined ? '(none)' : quote(id)} does not have the form this rule requires (${tickets.idPatternLabel ?? ''}); send the change record's number`,
    );
  }
  if (tickets.states) {
    const state = presentString(ticket.state);
    if (state === undefined) {
      messages.push(`the ticket has no state; this rule needs it in one of: ${tickets.statesLabel ?? ''}`);
    } else if (!tickets.states.has(state.toLowerCase())) {
      messages.push(
        `the ticket is in state ${quote(state)}; this rule needs one of: ${tickets.statesLabel ?? ''} — move the change on first`,
      );
    }
  }
  return messages;
}
