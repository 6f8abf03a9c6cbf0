import type { Decision } from '../model/approval.js';
import type { RawApprovers } from './rules/approvers.js';
import { approversSchema } from './rules/approvers.js';
import type { RawCallerEntry } from './rules/callers.js';
import { callersSchema } from './rules/callers.js';
import type { RawWindow } from './rules/change-windows.js';
import { changeWindowsSchema } from './rules/change-windows.js';
import type { RawConsumers } from './rules/consumers.js';
import { consumersSchema } from './rules/consumers.js';
import { decisionsSchema } from './rules/decisions.js';
import type { RawTarget } from './rules/targets.js';
import { targetsSchema } from './rules/targets.js';
import type { RawTickets } from './rules/tickets.js';
import { ticketsSchema } from './rules/tickets.js';
import type { RawTransitions } from './rules/transitions.js';
import { transitionsSchema } from './rules/transitions.js';

/** The policy document as written (after YAML parsing and schema validation, before compiling). */
export interface RawRule {
  name: string;
  description?: string;
  decisions: Decision[];
  targets: RawTarget[];
  callers: RawCallerEntry[];
  consumers?: RawConsumers;
  approvers?: RawApprovers;
  tickets?: RawTickets;
  changeWindows?: RawWindow[];
  /** Discovery rejects a connection this rule covers once it has been Pending this many days (fractions allowed). */
  expireAfterDays?: number;
}

export interface RawPolicy {
  version: 1;
  description?: string;
  defaults?: {
    transitions?: RawTransitions;
    connectionDescription?: { template?: string; maxLength?: number };
  };
  rules: RawRule[];
}

export const RULE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';

const ruleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'decisions', 'targets', 'callers'],
  properties: {
    name: { type: 'string', pattern: RULE_NAME_PATTERN },
    description: { type: 'string', maxLength: 2000 },
    decisions: decisionsSchema,
    targets: targetsSchema,
    callers: callersSchema,
    consumers: consumersSchema,
    approvers: approversSchema,
    tickets: ticketsSchema,
    changeWindows: changeWindowsSchema,
    expireAfterDays: { type: 'number', exclusiveMinimum: 0, maximum: 3650 },
  },
} as const;

/** JSON Schema of the policy document; each rule kind contributes its own fragment. */
export const policySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'rules'],
  properties: {
    version: { type: 'integer', const: 1 },
    description: { type: 'string', maxLength: 2000 },
    defaults: {
      type: 'object',
      additionalProperties: false,
      properties: {
        transitions: transitionsSchema,
        connectionDescription: {
          type: 'object',
          additionalProperties: false,
          properties: {
            template: { type: 'string', minLength: 1, maxLength: 1000 },
            maxLength: { type: 'integer', minimum: 16, maximum: 4096 },
          },
        },
      },
    },
    rules: { type: 'array', maxItems: 1000, items: ruleSchema },
  },
} as const;
