/**
 * The shapes every step of one approval shares. This folder imports nothing from the rest of src/, so every
 * layer may import it (docs/architecture.md).
 */

export type Decision = 'Approved' | 'Rejected';

/** Where a decision comes from; `discovery` is the app itself, acting on what its scan found. */
export type SourceName = 'generic' | 'servicenow' | 'teams' | 'slack' | 'discovery';

/** The sources that call in (and are authenticated with a secret or a token of their own). */
export type CallerSource = Exclude<SourceName, 'discovery'>;

export interface Ticket {
  system: string;
  id: string;
  state?: string;
  url?: string;
}

/** The canonical request: the body of `POST /api/approvals`, and what every other source is mapped to. */
export interface ApprovalRequest {
  connectionId: string;
  decision: Decision;
  description?: string;
  ticket?: Ticket;
  requester?: string;
  approver?: string;
  /**
   * The private endpoint the people deciding were shown (a Slack button discovery posted): a connection that now
   * comes from another endpoint is not decided. Not part of the generic route's body.
   */
  privateEndpointId?: string;
}

export type AuthScheme =
  'entra' | 'standard-webhooks' | 'teams-hmac' | 'slack-v0' | 'function-key' | 'discovery';

/** Who called, as proven by authentication (never taken from the payload). */
export interface CallerIdentity {
  source: SourceName;
  scheme: AuthScheme;
  /** Stable id: Entra oid/appid, chat user id, or the name of the shared secret that verified the signature. */
  id: string;
  name?: string;
  tenantId?: string;
  roles?: readonly string[];
  /** Group object ids from the token's `groups` claim, when present. */
  groups?: readonly string[];
  /** The source's own delivery id (webhook-id, Teams activity id) when it has one. */
  deliveryId?: string;
}

/** The caller discovery's scan decides as (`discovery:scan`); policy grants it like any other caller. */
export const DISCOVERY_CALLER: CallerIdentity = { source: 'discovery', scheme: 'discovery', id: 'scan' };

/** A private endpoint connection as read from Resource Manager. `status` is extensible: unknown values can arrive. */
export interface ConnectionState {
  id: string;
  name: string;
  status: string;
  description?: string;
  provisioningState?: string;
  privateEndpointId?: string;
}

export type Outcome = 'approved' | 'rejected' | 'unchanged' | 'dry-run';

export interface PolicyReason {
  rule: string;
  message: string;
}

export interface PolicyDecision {
  allowed: boolean;
  reasons: PolicyReason[];
}

export interface ArmCallInfo {
  status: number;
  requestId?: string;
  correlationId: string;
}

/** The generic route's success body. */
export interface ApprovalResponse {
  id: string;
  outcome: Outcome;
  connection: ConnectionState & { previousStatus: string };
  policy: PolicyDecision;
  arm: ArmCallInfo;
  /** Dry runs only: what a real run would write. */
  plan?: { write: boolean; status: string; description?: string };
}

/** Who hears about the outcome when it comes after the caller was answered. */
export type ReportTarget =
  /** The caller follows the `Location` URL it was given. */
  | { kind: 'location' }
  /** A work note on the ServiceNow record the request came from. */
  | { kind: 'servicenow'; sysId: string }
  /**
   * The `response_url` of a slash command or a button click (Slack allows a few posts within 30 minutes);
   * `replaceOriginal`: an outcome that was done replaces the message clicked (its buttons go).
   */
  | { kind: 'slack'; responseUrl: string; replaceOriginal?: boolean }
  /** The Teams Workflows webhook configured for late outcomes. */
  | { kind: 'teams' };
