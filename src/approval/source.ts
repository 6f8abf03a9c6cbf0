import type { Authenticated } from '../auth/authenticate.js';
import type { ReplayMarks } from '../auth/replay-guard.js';
import type { QueryName } from '../http/envelope.js';
import type { RouteRequest } from '../http/route-types.js';
import type { ApprovalRequest, CallerIdentity, ReportTarget, SourceName } from '../model/approval.js';
import type { Outcome } from '../model/outcome.js';
import type { ConnectionId } from '../model/resource-id.js';

/**
 * One caller format (generic JSON, ServiceNow, Teams, Slack) as the approval path sees it: what it accepts, how
 * its callers authenticate, and how its payload becomes something to do. Each lives in `sources/`; its reply
 * format lives beside it, used only by its route.
 */
export interface Source {
  name: SourceName;
  accepts: 'json' | 'form';
  query: readonly QueryName[];
  /** How long its caller waits: the budget of the work done while it does (chat platforms wait seconds). */
  deadlineMs: number;
  /**
   * The caller never reads the answer's body (a Slack button click): every decision is acknowledged at once and
   * continues from the queue, its outcome reported to the intent's `report` target.
   */
  respondAsync?: true;
  /**
   * Its callers can poll a Location, so it honours `Prefer: respond-async` (and its route answers `Vary: Prefer`):
   * such a request is answered 202 there, even where the intent reports nowhere else (a ServiceNow change without
   * work-note write-back). The chat routes do not: their platforms never send it.
   */
  pollable?: true;
  /**
   * Whether the request is a check the platform may send unsigned to see the endpoint answers (Slack's
   * `ssl_check`): it is answered as a ping before authentication, reading and writing nothing.
   */
  isProbe?(request: RouteRequest): boolean;
  /** Throws Refusal. */
  authenticate(request: RouteRequest): Promise<Authenticated>;
  /** The payload, validated and mapped; throws Refusal. Called only once the caller is authenticated. */
  admit(body: Uint8Array, authenticated: Authenticated, now: number): Admission;
}

export interface Admission {
  /** The caller, refined by the payload where the source's signature covers it (a Teams user). */
  caller: CallerIdentity;
  marks: ReplayMarks;
  intent: Intent;
}

export type Intent =
  /**
   * Approve or reject. `deliveryKey` is the source's own id for this delivery, used when no Idempotency-Key came;
   * `report` says who hears about an outcome that comes after the caller was answered (none: it never does).
   */
  | {
      kind: 'decide';
      request: ApprovalRequest;
      connectionId: ConnectionId;
      deliveryKey?: string;
      report?: ReportTarget;
    }
  /** Read the connection's state (chat `status`); policy must list the caller for it. */
  | {
      kind: 'status';
      connectionId: ConnectionId;
      request: ApprovalRequest;
      deliveryKey?: undefined;
      report?: undefined;
    }
  /** Nothing to decide or read: the answer is already known (help, a bad chat command, Slack's ping). */
  | { kind: 'answer'; outcome: Outcome };
