import { describe, expect, it } from 'vitest';
import {
  ArmError,
  ArmOperationRunningError,
  ArmResponseError,
  ArmUnavailableError,
} from '../../../src/arm/arm-errors.js';
import type { Decided } from '../../../src/approval/decide.js';
import {
  askedWaitMs,
  attemptOf,
  carryOf,
  isTransient,
  parseJob,
  reconcile,
  sentPut,
} from '../../../src/approval/job.js';
import type { ApprovalRequest, ApprovalResponse, Decision } from '../../../src/model/approval.js';
import type { Outcome } from '../../../src/model/outcome.js';
import { Refusal, type RefusalKind } from '../../../src/model/refusal.js';
import type { Carry } from '../../../src/store/operation-store.js';
import {
  AuditConflictError,
  ClaimLostError,
  ConnectionBusyError,
  StoreRequestError,
  StoreUnavailableError,
} from '../../../src/store/errors.js';

const CONN =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/privateendpointconnection1';
const AT = Date.UTC(2025, 0, 1, 12, 0, 0, 250);

const failed = (error: unknown): Outcome => ({ kind: 'failed', error });
const decided = (outcome: Outcome): Decided => ({ outcome, correlationId: 'corr-1' });

function armUnavailable(
  options: { lastStatus?: number; code?: string; mayHaveApplied?: boolean } = {},
): ArmUnavailableError {
  return new ArmUnavailableError(
    'Resource Manager kept answering 503',
    5,
    options.lastStatus,
    'arm-req-1',
    'corr-1',
    options.code === undefined ? undefined : { code: options.code, message: 'busy' },
    options.mayHaveApplied ?? false,
  );
}

function response(
  outcome: ApprovalResponse['outcome'],
  status: string,
  previousStatus: string,
): ApprovalResponse {
  return {
    id: 'req-1',
    outcome,
    connection: { id: CONN, name: 'privateendpointconnection1', status, previousStatus, description: 'd' },
    policy: { allowed: true, reasons: [{ rule: 'r1', message: 'allowed' }] },
    arm: { status: 200, correlationId: 'corr-1' },
  };
}

const done = (r: ApprovalResponse): Outcome => ({ kind: 'done', response: r });

const request = (decision: Decision): ApprovalRequest => ({ connectionId: CONN, decision });
const sent = (previousStatus: string): Carry => ({ putSent: { previousStatus } });

const ID = '0b7e1c2a-7c1e-4f7a-9d3e-1a2b3c4d5e6f';

describe('parseJob', () => {
  it.each([
    ['an approval message', { kind: 'approval', requestId: ID, generation: 0 }],
    ['a report message', { kind: 'report', requestId: ID, generation: 7 }],
    ['the largest safe generation', { kind: 'approval', requestId: ID, generation: Number.MAX_SAFE_INTEGER }],
  ])('takes %s', (_name, message) => {
    expect(parseJob(message)).toEqual(message);
  });

  it('takes the JSON text the queue trigger may hand over', () => {
    expect(parseJob(JSON.stringify({ kind: 'report', requestId: ID, generation: 2 }))).toEqual({
      kind: 'report',
      requestId: ID,
      generation: 2,
    });
  });

  it('lower-cases the request id (the row key is case-insensitive)', () => {
    expect(parseJob({ kind: 'approval', requestId: ID.toUpperCase(), generation: 1 }).requestId).toBe(ID);
  });

  it('returns a fresh object with exactly the three keys', () => {
    const message = { kind: 'approval', requestId: ID, generation: 3 };
    const job = parseJob(message);
    expect(job).not.toBe(message);
    expect(Object.keys(job).sort()).toEqual(['generation', 'kind', 'requestId']);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a boolean', true],
    ['an array', [{ kind: 'approval', requestId: ID, generation: 0 }]],
    ['JSON of a string', JSON.stringify('approval')],
    ['JSON null', 'null'],
    ['an empty object', {}],
    ['an unknown kind', { kind: 'delete', requestId: ID, generation: 0 }],
    ['a kind in another case', { kind: 'Approval', requestId: ID, generation: 0 }],
    ['no kind', { requestId: ID, generation: 0 }],
    ['no request id', { kind: 'approval', generation: 0 }],
    ['a request id that is not a UUID', { kind: 'approval', requestId: 'req-1', generation: 0 }],
    ['a UUID with something around it', { kind: 'approval', requestId: ` ${ID}`, generation: 0 }],
    ['a UUID with a suffix', { kind: 'approval', requestId: `${ID}:reported`, generation: 0 }],
    ['a UUID without hyphens', { kind: 'approval', requestId: ID.replace(/-/g, ''), generation: 0 }],
    ['a request id that is a number', { kind: 'approval', requestId: 1, generation: 0 }],
    ['no generation', { kind: 'approval', requestId: ID }],
    ['a negative generation', { kind: 'approval', requestId: ID, generation: -1 }],
    ['a fractional generation', { kind: 'approval', requestId: ID, generation: 1.5 }],
    ['a generation as a string', { kind: 'approval', requestId: ID, generation: '1' }],
    ['a generation beyond safe integers', { kind: 'approval', requestId: ID, generation: 2 ** 53 }],
    ['NaN as generation', { kind: 'approval', requestId: ID, generation: Number.NaN }],
    ['Infinity as generation', { kind: 'approval', requestId: ID, generation: Number.POSITIVE_INFINITY }],
    ['null as generation', { kind: 'approval', requestId: ID, generation: null }],
    [
      'an extra key (the old message carried the whole command)',
      {
        kind: 'approval',
        requestId: ID,
        generation: 0,
        request: { connectionId: CONN, decision: 'Approved' },
      },
    ],
    [
      'an extra putSent',
      { kind: 'approval', requestId: ID, generation: 0, putSent: { previousStatus: 'x' } },
    ],
    ['an extra undefined key', { kind: 'approval', requestId: ID, generation: 0, extra: undefined }],
  ])('refuses %s with a TypeError', (_name, message) => {
    expect(() => parseJob(message)).toThrow(TypeError);
  });

  it('refuses text that is not JSON (it ends in the poison queue)', () => {
    expect(() => parseJob('not json')).toThrow();
  });
});

describe('isTransient', () => {
  it.each([
    ['ArmUnavailableError', armUnavailable({ lastStatus: 503 })],
    ['ArmUnavailableError after a PUT', armUnavailable({ mayHaveApplied: true })],
    ['ConnectionBusyError', new ConnectionBusyError(CONN, 3)],
    ['StoreUnavailableError', new StoreUnavailableError('audit.append', 503, 5)],
    ['Refusal unavailable', new Refusal('unavailable', 'Key Vault down', { retryAfterSeconds: 5 })],
    ['Refusal not-configured (a policy that did not load)', new Refusal('not-configured', 'fix it')],
  ])('retries a failure time may heal: %s', (_name, error) => {
    expect(isTransient(failed(error))).toBe(true);
  });

  it.each([
    ['ArmError 403', new ArmError(403, { code: 'AuthorizationFailed' }, 'x', 'corr')],
    ['ArmError 404', new ArmError(404, { code: 'ResourceNotFound' }, 'x', 'corr')],
    ['ArmResponseError', new ArmResponseError('not a connection', 200, 'x', 'corr')],
    ['StoreRequestError', new StoreRequestError('audit.append', 400)],
    ['AuditConflictError', new AuditConflictError('req-1')],
    ['ClaimLostError', new ClaimLostError('complete')],
    ['a plain Error', new Error('bug')],
    ['a thrown string', 'boom'],
    ['undefined', undefined],
  ])('ends at once on a failure retrying cannot fix: %s', (_name, error) => {
    expect(isTransient(failed(error))).toBe(false);
  });

  it.each<RefusalKind>(['in-flight', 'forbidden', 'unauthenticated', 'invalid-request'])(
    'ends at once on a refusal of kind %s',
    (kind) => {
      expect(isTransient(failed(new Refusal(kind, 'no')))).toBe(false);
    },
  );

  it('never retries an outcome that is not a failure', () => {
    const outcomes: Outcome[] = [
      done(response('approved', 'Approved', 'Pending')),
      { kind: 'denied', transition: false, policy: { allowed: false, reasons: [] } },
      { kind: 'accepted', requestId: 'req-1', retryAfterSeconds: 5 },
      { kind: 'status', connection: { id: CONN, name: 'n', status: 'Pending' } },
      { kind: 'help' },
      { kind: 'ping' },
    ];
    for (const outcome of outcomes) expect(isTransient(outcome)).toBe(false);
  });
});

describe('attemptOf', () => {
  it('stamps the attempt with its time as ISO 8601', () => {
    expect(attemptOf(decided(done(response('approved', 'Approved', 'Pending'))), AT)).toEqual({
      at: '2025-01-01T12:00:00.250Z',
    });
  });

  it("keeps Resource Manager's last status, its error code, and that the PUT may have applied", () => {
    const error = armUnavailable({ lastStatus: 503, code: 'ServerBusy', mayHaveApplied: true });
    expect(attemptOf(decided(failed(error)), AT)).toEqual({
      at: '2025-01-01T12:00:00.250Z',
      armStatus: 503,
      code: 'ServerBusy',
      mayHaveApplied: true,
    });
  });

  it('leaves out what Resource Manager never said (a connection that failed before any answer)', () => {
    const attempt = attemptOf(decided(failed(armUnavailable())), AT);
    expect(attempt).toEqual({ at: '2025-01-01T12:00:00.250Z' });
    expect(Object.keys(attempt)).toEqual(['at']);
  });

  it('names any other error by its class name, and never its message', () => {
    expect(attemptOf(decided(failed(new ConnectionBusyError(CONN, 3))), AT)).toEqual({
      at: '2025-01-01T12:00:00.250Z',
      code: 'ConnectionBusyError',
    });
    const attempt = attemptOf(decided(failed(new StoreUnavailableError('audit.append', 503, 5))), AT);
    expect(attempt).toEqual({ at: '2025-01-01T12:00:00.250Z', code: 'StoreUnavailableError' });
    expect(JSON.stringify(attempt)).not.toContain('Table Storage');
  });

  it('records only the time for a thrown value that is not an Error', () => {
    expect(attemptOf(decided(failed('boom')), AT)).toEqual({ at: '2025-01-01T12:00:00.250Z' });
  });
});

describe('askedWaitMs', () => {
  it("is Resource Manager's Retry-After, or a running operation's", () => {
    expect(askedWaitMs(decided(failed(armUnavailable())))).toBe(5_000);
    expect(askedWaitMs(decided(failed(new ArmOperationRunningError('token', 60, 'corr-1'))))).toBe(60_000);
  });

  it('is nothing for our own estimates, other failures and successes', () => {
    expect(askedWaitMs(decided(failed(new ConnectionBusyError(CONN, 30))))).toBe(0);
    expect(askedWaitMs(decided(failed(new StoreUnavailableError('audit.append', 503, 30))))).toBe(0);
    expect(askedWaitMs(decided(failed(new Error('boom'))))).toBe(0);
  });

  it('waits an hour at most, whatever was asked', () => {
    expect(askedWaitMs(decided(failed(new ArmOperationRunningError('token', 86_400, 'corr-1'))))).toBe(
      3_600_000,
    );
  });
});

describe('sentPut', () => {
  it('is true only when Resource Manager failed after the PUT was sent', () => {
    expect(sentPut(decided(failed(armUnavailable({ lastStatus: 503, mayHaveApplied: true }))))).toBe(true);
    expect(sentPut(decided(failed(armUnavailable({ lastStatus: 503 }))))).toBe(false);
    expect(sentPut(decided(failed(new ConnectionBusyError(CONN, 3))))).toBe(false);
    expect(sentPut(decided(failed(new ArmError(409, {}, 'x', 'corr'))))).toBe(false);
    expect(sentPut(decided(done(response('approved', 'Approved', 'Pending'))))).toBe(false);
  });
});

describe('reconcile', () => {
  it("reports an earlier attempt's landed PUT as applied by this request, from the state it replaced", () => {
    const input = decided(done(response('unchanged', 'Approved', 'Approved')));
    const result = reconcile(input, request('Approved'), sent('Pending'));
    expect(result.outcome).toEqual(done(response('approved', 'Approved', 'Pending')));
    expect(result.correlationId).toBe('corr-1');
  });

  it('says rejected for a rejection', () => {
    const input = decided(done(response('unchanged', 'Rejected', 'Rejected')));
    const result = reconcile(input, request('Rejected'), sent('Pending'));
    expect(result.outcome).toEqual(done(response('rejected', 'Rejected', 'Pending')));
  });

  it('does not change its input', () => {
    const input = decided(done(response('unchanged', 'Approved', 'Approved')));
    const copy = structuredClone(input);
    reconcile(input, request('Approved'), sent('Pending'));
    expect(input).toEqual(copy);
  });

  it('leaves "unchanged" alone when no earlier attempt sent a PUT (it really was in that state)', () => {
    const input = decided(done(response('unchanged', 'Approved', 'Approved')));
    expect(reconcile(input, request('Approved'), {})).toBe(input);
  });

  it('leaves every other outcome alone', () => {
    const carry = sent('Pending');
    const applied = decided(done(response('approved', 'Approved', 'Pending')));
    expect(reconcile(applied, request('Approved'), carry)).toBe(applied);
    const failure = decided(failed(armUnavailable({ lastStatus: 503, mayHaveApplied: true })));
    expect(reconcile(failure, request('Approved'), carry)).toBe(failure);
    const other = decided(failed(new StoreUnavailableError('audit.append', 503, 5)));
    expect(reconcile(other, request('Approved'), carry)).toBe(other);
    const denied = decided({ kind: 'denied', transition: true, policy: { allowed: false, reasons: [] } });
    expect(reconcile(denied, request('Approved'), carry)).toBe(denied);
  });

  it("notes on a superseded end that the request's own unanswered PUT may have landed before the change", () => {
    const reasons = [{ rule: 'superseded', message: 'the connection went from Pending to Approved.' }];
    const superseded = decided({ kind: 'denied', transition: true, policy: { allowed: false, reasons } });
    const result = reconcile(superseded, request('Rejected'), sent('Pending'));
    expect(result.outcome).toMatchObject({ kind: 'denied' });
    const [reason] = (result.outcome as { policy: { reasons: { message: string }[] } }).policy.reasons;
    expect(reason?.message).toContain('may have landed before that change');
    expect(reconcile(superseded, request('Rejected'), {})).toBe(superseded);
  });

  it("says a last failure may have applied the change when an earlier attempt's PUT went out unanswered", () => {
    // The last attempt's own PUT was only throttled (429): alone, that would say nothing was changed.
    const throttled = decided(failed(armUnavailable({ lastStatus: 429 })));
    const result = reconcile(throttled, request('Approved'), sent('Pending'));
    expect(result.outcome.kind).toBe('failed');
    const error = (result.outcome as { error: ArmUnavailableError }).error;
    expect(error).toBeInstanceOf(ArmUnavailableError);
    expect(error.mayHaveApplied).toBe(true);
    expect(error.lastStatus).toBe(429);
    // Without an earlier PUT, a throttled write stays one that was not applied.
    expect(reconcile(throttled, request('Approved'), {})).toBe(throttled);
  });
});

describe('carryOf', () => {
  const running = new ArmOperationRunningError('{"state":{}}', 5, 'corr-1');
  const before = { id: CONN, name: 'pe1', status: 'Pending' };

  it('a PUT whose operation still runs: the PUT went out, and the operation is the one to wait for', () => {
    expect(carryOf({ ...decided(failed(running)), before })).toEqual({
      putSent: { previousStatus: 'Pending' },
      resume: { token: '{"state":{}}', previousStatus: 'Pending' },
    });
  });

  it('an operation to wait for survives an attempt that failed before reaching it (busy lease, storage, a read)', () => {
    const earlier: Carry = {
      putSent: { previousStatus: 'Pending' },
      resume: { token: 'T', previousStatus: 'Pending' },
    };
    for (const error of [
      new ConnectionBusyError(CONN, 5),
      armUnavailable({ lastStatus: 503 }),
      new Refusal('unavailable', 'x'),
    ]) {
      expect(carryOf(decided(failed(error)), earlier)).toEqual(earlier);
    }
  });

  it('a newer running operation replaces the one carried', () => {
    const earlier: Carry = { resume: { token: 'OLD', previousStatus: 'Pending' } };
    expect(carryOf(decided(failed(running)), earlier).resume?.token).toBe('{"state":{}}');
  });
});
