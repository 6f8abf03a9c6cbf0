import { guardReplay } from '../auth/replay-guard.js';
import { checkEnvelope } from '../http/envelope.js';
import type { RouteRequest } from '../http/route-types.js';
import type { Logger } from '../logger.js';
import type { Handled, Outcome } from '../model/outcome.js';
import { isRefusal } from '../model/refusal.js';
import type { NonceStore } from '../store/nonce-store.js';
import type { ClaimDeps } from './claim.js';
import { claim, settle } from './claim.js';
import type { Command, DecideDeps } from './decide.js';
import { decide, readStatus } from './decide.js';
import type { RecordDeps } from './record.js';
import { record } from './record.js';
import type { Admission, Source } from './source.js';

export interface ApprovalDeps {
  decide: DecideDeps;
  claim: ClaimDeps;
  record: RecordDeps;
  nonces: NonceStore;
  now: () => number;
}

/** Per-request identity: every step logs with it and every answer carries it. */
export interface RequestScope {
  requestId: string;
  started: number;
  logger: Logger;
}

/**
 * One request, top to bottom: admit the envelope (size, type, query) → authenticate over the raw bytes →
 * validate the payload → refuse a replay → claim the idempotency key → decide (lease, GET, policy, PUT) →
 * record → settle the claim. Every step returns a domain value or throws; the route turns the result into its
 * caller's reply. Nothing before the replay guard writes anything or calls Resource Manager.
 */
export async function handleApproval(
  deps: ApprovalDeps,
  source: Source,
  request: RouteRequest,
  scope: RequestScope,
): Promise<Handled> {
  const handled = (outcome: Outcome): Handled => ({ requestId: scope.requestId, outcome });
  let command: Command | undefined;
  try {
    const envelope = checkEnvelope(request, source.accepts, source.query);
    const authenticated = await source.authenticate(request);
    const admission = source.admit(request.body, authenticated, deps.now());
    await guardReplay(deps.nonces, admission.marks, envelope.idempotencyKey, envelope.dryRun);
    if (admission.intent.kind === 'answer') return handled(admission.intent.outcome);
    command = toCommand(source, admission, envelope.dryRun, scope, deps.now());
    if (admission.intent.kind === 'status') return handled(await readStatus(deps.decide, command));

    const key = envelope.idempotencyKey ?? admission.intent.deliveryKey;
    const claimed = command.dryRun ? undefined : await claim(deps.claim, command, key);
    if (claimed?.kind === 'replay')
      return handled(await record(deps.record, command, replayed(claimed.outcome)));
    const decided = await decide(deps.decide, command);
    const outcome = await record(deps.record, command, decided);
    if (claimed) await settle(deps.claim, command, claimed.token, outcome);
    return handled(outcome);
  } catch (error) {
    // Refused before anything was decided. Once a command exists (a duplicate, a reused key) it is recorded.
    const outcome: Outcome = { kind: 'failed', error };
    if (command === undefined || !isRefusal(error)) return handled(outcome);
    return handled(await record(deps.record, command, { outcome, correlationId: '' }));
  }
}

function replayed(outcome: Outcome): { outcome: Outcome; correlationId: string } {
  return { outcome, correlationId: outcome.kind === 'done' ? outcome.response.arm.correlationId : '' };
}

function toCommand(
  source: Source,
  admission: Admission,
  dryRun: boolean,
  scope: RequestScope,
  now: number,
): Command {
  const intent = admission.intent;
  if (intent.kind === 'answer') throw new TypeError('an answer has nothing to decide');
  return {
    requestId: scope.requestId,
    source: source.name,
    caller: admission.caller,
    request: intent.request,
    connectionId: intent.connectionId,
    dryRun,
    deadline: now + source.deadlineMs,
    started: scope.started,
    logger: scope.logger,
  };
}
