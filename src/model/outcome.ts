import type { ApprovalResponse, ConnectionState, PolicyDecision, ReportTarget } from './approval.js';

/**
 * What became of one request, in domain terms. Each caller format turns it into its own reply
 * (`sources/*-reply.ts`); the audit record is built from it too. Nothing here knows about HTTP.
 */
export type Outcome =
  /** Applied, already in the asked state, or a dry run. */
  | { kind: 'done'; response: ApprovalResponse; replay?: Replay; recordPending?: boolean }
  /** Policy said no: `transition` when the move itself is not allowed from the state the connection is in. */
  | { kind: 'denied'; transition: boolean; policy: PolicyDecision; connection?: ConnectionState }
  /** A chat `status` read. */
  | { kind: 'status'; connection: ConnectionState }
  /** A chat message that asks for nothing the app can do: the help text, with what was wrong if anything. */
  | { kind: 'help'; problem?: string }
  /** Slack's periodic certificate check. */
  | { kind: 'ping' }
  /** Refused or failed; `error` is a Refusal, an ARM error or a dependency error (see http/failure-problem.ts). */
  | { kind: 'failed'; error: unknown; recordPending?: boolean }
  /**
   * Still being worked on from the queue: the result of request `requestId` (this one, or the earlier one this
   * repeats) follows when it ends.
   */
  /** Continues from the queue; `reportedTo` says where its outcome will be told (absent for a repeat of work
   * queued by an earlier build, which kept no note of it). */
  | {
      kind: 'accepted';
      requestId: string;
      retryAfterSeconds: number;
      duplicate?: boolean;
      reportedTo?: ReportTarget['kind'];
    };

/** Why an answer was served from storage rather than decided again. */
export interface Replay {
  /** The request whose answer this is. */
  originalRequestId: string;
  /** `key`: the caller's Idempotency-Key or delivery id; `derived`: no key was sent, the payload matched. */
  basis: 'key' | 'derived';
  /** For `derived`: how long such a repeat counts as the same request. */
  windowMinutes?: number;
}

/** One request's result: its id (the key to the logs and the audit record) and what became of it. */
export interface Handled {
  requestId: string;
  outcome: Outcome;
  /** Where the caller hears of outcomes, when its platform takes them elsewhere than in the answer. */
  report?: ReportTarget;
}
