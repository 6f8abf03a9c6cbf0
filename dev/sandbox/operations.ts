import { randomUUID } from 'node:crypto';
import type { Completion } from '../../src/model/provider-registry.js';
import { restingStateOf } from '../../src/model/provider-registry.js';
import type { ArmStore, ConnectionAddress, ConnectionChange, StoredConnection } from './arm-store.js';
import { connectionKey } from './arm-store.js';

/**
 * Long-running PUTs as Resource Manager runs them: the write is accepted (201/202 with `Azure-AsyncOperation` or
 * `Location`), the connection shows a settling provisioning state, and the change lands only when the operation
 * is polled to its end — `Succeeded`, or `Failed` with the provider's error when a test asked for one.
 */

export interface OperationSettings {
  /** Polls answered "still running" before the operation ends (0: it ends at the first poll). */
  pollsBeforeDone: number;
  /** Seconds sent as `Retry-After` on accepted and running answers; none when undefined. */
  retryAfterSeconds?: number;
  /** Polls are refused with 403 (a role without the provider's operation read); the operation still runs. */
  refusePolls?: boolean;
  /**
   * A PUT answers 200 before it has finished, without an operation to poll, the connection in a settling state
   * (as the RPC allows), and lands once the connection has been read `pollsBeforeDone` times more.
   */
  answerBeforeDone?: boolean;
}

export interface OperationControl {
  settings: OperationSettings;
  /** The next operation started ends Failed with this error. */
  failNext(code: string, message?: string): void;
  /** Operations started and not yet ended. */
  running(): number;
  reset(): void;
}

interface Operation {
  id: string;
  address: ConnectionAddress;
  change: ConnectionChange;
  pollsLeft: number;
  failure?: { code: string; message: string };
  ended?: 'Succeeded' | 'Failed';
}

export interface OperationResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface OperationBook extends OperationControl {
  /** Accepts a write as a long-running operation; answers the PUT's status and headers. */
  start(
    address: ConnectionAddress,
    change: ConnectionChange,
    completion: Exclude<Completion, 'sync'>,
    base: string,
    render: (c: StoredConnection) => unknown,
  ): OperationResult;
  /** A poll of `/…/operationStatuses/{id}` or `/…/operationResults/{id}`; undefined when not such a path. */
  poll(path: string, render: (c: StoredConnection) => unknown): OperationResult | undefined;
  /** A GET of a connection moves its bare-202 operation on (the client polls the connection itself). */
  touch(address: ConnectionAddress): void;
}

const DEFAULTS: OperationSettings = { pollsBeforeDone: 1 };
const PATH =
  /^\/subscriptions\/[^/]+\/providers\/[^/]+\/locations\/sandbox\/(operationStatuses|operationResults)\/([0-9a-f-]{36})$/i;

export function createOperationBook(
  store: ArmStore,
  settling: (a: ConnectionAddress) => string,
): OperationBook {
  const operations = new Map<string, Operation>();
  /** Operations by the connection they change: a GET of the connection moves its operation on too. */
  const byConnection = new Map<string, Operation>();
  let failure: { code: string; message: string } | undefined;
  const settings: OperationSettings = { ...DEFAULTS };
  const control: OperationControl = {
    settings,
    failNext(code, message = `The operation failed (${code}).`) {
      failure = { code, message };
    },
    running: () => [...operations.values()].filter((o) => o.ended === undefined).length,
    reset() {
      operations.clear();
      byConnection.clear();
      failure = undefined;
      delete settings.retryAfterSeconds;
      delete settings.refusePolls;
      delete settings.answerBeforeDone;
      Object.assign(settings, DEFAULTS);
    },
  };
  const retryAfter = (): Record<string, string> =>
    settings.retryAfterSeconds === undefined ? {} : { 'retry-after': String(settings.retryAfterSeconds) };

  const advance = (op: Operation): void => {
    if (op.ended !== undefined) return;
    if (op.pollsLeft > 0) {
      op.pollsLeft -= 1;
      return;
    }
    if (op.failure) {
      op.ended = 'Failed';
      const current = store.get(op.address);
      if (current.found) store.mark(op.address, 'Failed');
      return;
    }
    op.ended = 'Succeeded';
    // The connection rests in the state its spec's example shows once the change landed (`Ready` for some).
    store.update(op.address, {
      ...op.change,
      provisioningState: restingStateOf(op.address.provider, op.change.status),
    });
  };

  return {
    ...control,
    start(address, change, completion, base, render): OperationResult {
      const id = randomUUID();
      const op: Operation = { id, address, change, pollsLeft: settings.pollsBeforeDone };
      if (failure) op.failure = failure;
      failure = undefined;
      operations.set(id, op);
      const marked = store.mark(address, settling(address));
      // What the accepted PUT answers: the connection as it is while the change is applied.
      const body = marked.found ? render(marked.value) : undefined;
      byConnection.set(connectionKey(address), op);
      if (completion === 'accepted') return { status: 202, body };
      const [namespace] = address.provider.type.split('/');
      const where = `${base}/subscriptions/${address.subscriptionId}/providers/${namespace}/locations/sandbox`;
      const version = `?api-version=${address.provider.apiVersion}`;
      const headers: Record<string, string> =
        completion === 'azure-async-operation'
          ? { 'azure-asyncoperation': `${where}/operationStatuses/${id}${version}` }
          : { location: `${where}/operationResults/${id}${version}` };
      return {
        status: completion === 'location' ? 202 : 201,
        body,
        headers: { ...headers, ...retryAfter() },
      };
    },
    touch(address) {
      const op = byConnection.get(connectionKey(address));
      if (op === undefined) return;
      advance(op);
      if (op.ended !== undefined) byConnection.delete(connectionKey(address));
    },
    poll(path, render) {
      const match = PATH.exec(path);
      if (match === null) return undefined;
      const op = operations.get((match[2] ?? '').toLowerCase());
      if (op === undefined) {
        return { status: 404, body: { error: { code: 'OperationNotFound', message: 'No such operation.' } } };
      }
      advance(op);
      if (settings.refusePolls) {
        const message = 'The client does not have authorization to read the operation.';
        return { status: 403, body: { error: { code: 'AuthorizationFailed', message } } };
      }
      if (match[1]?.toLowerCase() === 'operationstatuses') {
        const status = op.ended ?? 'InProgress';
        const error = op.ended === 'Failed' ? { error: op.failure } : {};
        return {
          status: 200,
          body: { id: op.id, name: op.id, status, ...error },
          headers: op.ended ? {} : retryAfter(),
        };
      }
      if (op.ended === undefined) {
        const again = `${path}?api-version=${op.address.provider.apiVersion}`;
        return { status: 202, headers: { location: again, ...retryAfter() } };
      }
      if (op.ended === 'Failed') return { status: 400, body: { error: op.failure } };
      const current = store.get(op.address);
      return current.found ? { status: 200, body: render(current.value) } : { status: 204 };
    },
  };
}
