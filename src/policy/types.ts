import type {
  ApprovalRequest,
  AuthScheme,
  CallerIdentity,
  ConnectionState,
  Decision,
  PolicyDecision,
  PolicyReason,
  SourceName,
} from '../model/approval.js';
import type { CompiledDescription } from './description.js';
import type { ConnectionId, PrivateEndpointId } from '../model/resource-id.js';
import type { Matcher } from './glob.js';

/** Everything one evaluation looks at. Evaluation does no I/O and never reads a clock: `now` is passed in. */
export interface PolicyInput {
  request: ApprovalRequest;
  /** Verified identity (from authentication, never from the payload). */
  caller: CallerIdentity;
  /** Current state from the ARM GET of `request.connectionId`. */
  connection: ConnectionState;
  /** Epoch milliseconds. */
  now: number;
  /**
   * Entra tenant of the consumer's private endpoint, when the pipeline knows it. ARM ids carry no tenant, so
   * this is usually undefined; a rule that lists consumer `tenants` then refuses approvals (fails closed).
   */
  consumerTenantId?: string;
}

export interface PolicyEvaluation extends PolicyDecision {
  /**
   * What to write to ARM as the connection's description, rendered by the policy's template (cleaned, capped);
   * set when allowed, `''` when the template rendered nothing, which writes no description.
   */
  description?: string;
  /** 409 when the transitions rule denies an authorised caller, else 403 when denied, 200 when allowed. */
  status: 200 | 403 | 409;
}

export type { PolicyReason };

/** The connection statuses Azure documents; anything else is "unknown" and refused. */
export type KnownStatus = 'Pending' | 'Approved' | 'Rejected' | 'Disconnected';

export interface CompiledTarget {
  /** Shown in messages; the policy text it came from. */
  readonly label: string;
  matches(target: ConnectionId): boolean;
}

export interface CompiledCallerEntry {
  readonly source: SourceName;
  readonly ids: readonly Matcher[];
  readonly tenants?: ReadonlySet<string>;
  readonly schemes?: ReadonlySet<AuthScheme>;
}

export interface CompiledConsumers {
  readonly subscriptions: readonly Matcher[];
  readonly tenants?: ReadonlySet<string>;
}

export interface CompiledApprovers {
  readonly required: boolean;
  readonly separationOfDuties: boolean;
  readonly identities?: readonly Matcher[];
  readonly groups?: ReadonlySet<string>;
}

export interface CompiledTickets {
  readonly required: boolean;
  readonly systems?: ReadonlySet<string>;
  readonly systemsLabel?: string;
  readonly idPattern?: RegExp;
  readonly idPatternLabel?: string;
  readonly states?: ReadonlySet<string>;
  readonly statesLabel?: string;
}

export interface CompiledWindow {
  readonly label: string;
  readonly timeZone: string;
  readonly days: ReadonlySet<number>;
  /** Minutes after local midnight; start inclusive, end exclusive. end < start wraps past midnight. */
  readonly start: number;
  readonly end: number;
  readonly formatter: Intl.DateTimeFormat;
}

export interface CompiledRule {
  readonly name: string;
  readonly decisions: ReadonlySet<Decision>;
  readonly targets: readonly CompiledTarget[];
  readonly callers: readonly CompiledCallerEntry[];
  readonly consumers?: CompiledConsumers;
  readonly approvers?: CompiledApprovers;
  readonly tickets?: CompiledTickets;
  readonly changeWindows?: readonly CompiledWindow[];
  readonly expireAfterDays?: number;
}

/** from-status (lower case) → decisions allowed from it. Statuses not listed are unknown and refused. */
export type CompiledTransitions = ReadonlyMap<string, ReadonlySet<Decision>>;

/** A loaded, validated and compiled policy. Immutable; build one per process with `loadPolicy`. */
export interface Policy {
  readonly version: 1;
  /** The file it was read from, for messages and the audit trail. */
  readonly file: string;
  /** Hex SHA-256 of the policy text, so audit records can name the exact policy that decided. */
  readonly sha256: string;
  readonly transitions: CompiledTransitions;
  readonly connectionDescription: CompiledDescription;
  readonly rules: readonly CompiledRule[];
}

/** Facts derived once per evaluation and handed to every rule kind. */
export interface EvaluationContext {
  readonly request: ApprovalRequest;
  readonly caller: CallerIdentity;
  readonly connection: ConnectionState;
  readonly now: number;
  readonly target: ConnectionId;
  readonly consumer?: PrivateEndpointId;
  readonly consumerTenantId?: string;
}
