import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { isRestError } from '@azure/core-rest-pipeline';
import { QueueClient, type StoragePipelineOptions } from '@azure/storage-queue';
import type { StorageConfig } from '../config.js';
import { StoreConfigError } from './table-clients.js';
import { StoreUnavailableError } from './errors.js';
import { toStoreError } from './table-call.js';

/**
 * Work that continues after the caller was answered, on Azure Queue Storage in the app's own storage account
 * (Azurite's queue service locally). In Azure a queue-triggered function takes the messages; the Functions host
 * moves a message that failed `maxDequeueCount` times to `<name>-poison`. Messages are base64 JSON, the
 * encoding the Functions queue trigger reads by default.
 */
export interface WorkQueue {
  readonly name: string;
  readonly poisonName: string;
  /**
   * Sends one message, invisible for `delaySeconds` (whole seconds; Queue Storage has no finer grain, and no
   * longer wait than seven days).
   */
  send(message: unknown, delaySeconds?: number): Promise<void>;
  /** How many messages wait in the poison queue (approximate, as the service reports it). */
  poisoned(): Promise<number>;
  /** Creates both queues; called once at start-up (a missing queue is created again by `send`). */
  create(): Promise<void>;
  /** The queue's clients, for the local host's polling worker; absent when storage names no queue endpoint. */
  readonly clients?: { queue: QueueClient; poison: QueueClient };
}

const MAX_VISIBILITY_SECONDS = 7 * 24 * 3600;

/** Queue names are lower-case letters, digits and single hyphens; the table prefix is letters and digits. */
export function queueNames(tablePrefix: string): { name: string; poisonName: string } {
  const name = `${tablePrefix.toLowerCase()}-approvals`;
  return { name, poisonName: `${name}-poison` };
}

export function createWorkQueue(
  config: StorageConfig,
  credential: TokenCredential,
  policies: PipelinePolicy[] = [],
): WorkQueue {
  const { name, poisonName } = queueNames(config.tablePrefix);
  const make = queueMaker(config, credential, policies);
  if (make === undefined) return unavailableQueue(name, poisonName);
  const client = make(name);
  const poisonClient = make(poisonName);
  const encode = (message: unknown): string =>
    Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
  return {
    name,
    poisonName,
    clients: { queue: client, poison: poisonClient },
    async send(message, delaySeconds = 0) {
      const wait = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
      const options = { visibilityTimeout: wait, messageTimeToLive: -1 };
      try {
        await client.sendMessage(encode(message), options);
      } catch (error) {
        if (!isQueueNotFound(error)) throw toStoreError('queue.send', error);
        try {
          await client.createIfNotExists();
          await client.sendMessage(encode(message), options);
        } catch (retryError) {
          throw toStoreError('queue.send', retryError);
        }
      }
    },
    async poisoned() {
      try {
        return (await poisonClient.getProperties()).approximateMessagesCount ?? 0;
      } catch (error) {
        if (isQueueNotFound(error)) return 0;
        throw toStoreError('queue.poisoned', error);
      }
    },
    async create() {
      try {
        await Promise.all([client.createIfNotExists(), poisonClient.createIfNotExists()]);
      } catch (error) {
        throw toStoreError('queue.create', error);
      }
    },
  };
}

/** Storage that names no queue endpoint: nothing continues later, and every attempt says why. */
function unavailableQueue(name: string, poisonName: string): WorkQueue {
  const fail = (): Promise<never> =>
    Promise.reject(
      new StoreUnavailableError('queue', undefined, 60, {
        detail: 'AzureWebJobsStorage names no QueueEndpoint, so no work can continue later',
      }),
    );
  return { name, poisonName, send: fail, poisoned: fail, create: fail };
}

function queueMaker(
  config: StorageConfig,
  credential: TokenCredential,
  policies: PipelinePolicy[],
): ((queue: string) => QueueClient) | undefined {
  const options: StoragePipelineOptions = {
    retryOptions: { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2_000, tryTimeoutInMs: 5_000 },
    ...(policies.length > 0
      ? { additionalPolicies: policies.map((policy) => ({ policy, position: 'perRetry' as const })) }
      : {}),
  };
  if (config.connectionString !== undefined) {
    const connectionString = config.connectionString;
    if (!namesQueue(connectionString)) return undefined;
    return (queue) => new QueueClient(connectionString, queue, options);
  }
  if (config.queueServiceUri !== undefined) {
    const base = config.queueServiceUri.replace(/\/+$/, '');
    return (queue) => new QueueClient(`${base}/${queue}`, credential, options);
  }
  throw new StoreConfigError(
    'Queue Storage needs AzureWebJobsStorage__queueServiceUri (https://<account>.queue.<suffix>) beside ' +
      '__tableServiceUri, or __accountName alone, or a connection string: the Functions host reads the same ' +
      'settings for the queue trigger that continues accepted work',
  );
}

/**
 * Whether a connection string names the queue endpoint the Functions host will listen on: one given as
 * `QueueEndpoint`, the emulator's, or the one an account-form string (`AccountName`, key, `EndpointSuffix`, no
 * endpoint of its own) stands for, which the SDK and the host derive alike. A string that lists other services'
 * endpoints but not the queue's would be derived as the public account's queue: that is refused, not guessed.
 */
function namesQueue(connectionString: string): boolean {
  if (/(?:^|;)\s*QueueEndpoint=/i.test(connectionString)) return true;
  if (connectionString === 'UseDevelopmentStorage=true') return true;
  const accountForm = /(?:^|;)\s*AccountName=/i.test(connectionString);
  return accountForm && !/(?:^|;)\s*\w+Endpoint=/i.test(connectionString);
}

function isQueueNotFound(error: unknown): boolean {
  return isRestError(error) && error.statusCode === 404;
}
