import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';
import { AZURITE_ACCOUNT_KEY, azuriteConnectionString as connectionStringFor } from '../../../dev/azurite.js';
import { StoreUnavailableError } from '../../../src/store/errors.js';
import { StoreConfigError } from '../../../src/store/table-clients.js';
import { createWorkQueue, queueNames, type WorkQueue } from '../../../src/store/work-queue.js';
import { closedPort, storageConfig, unusedCredential } from './helpers.js';

/**
 * The work queue against Azurite's Queue service, read back with Microsoft's own QueueClient: messages are the
 * base64 JSON the Functions queue trigger decodes, a delay keeps them invisible, the poison queue is counted,
 * and storage that names no queue endpoint refuses every call with a reason instead of guessing one.
 */

interface Peeked {
  text: string;
  decoded: unknown;
}

function mainClient(queue: WorkQueue): QueueClient {
  expect(queue.clients).toBeDefined();
  return queue.clients!.queue;
}

async function peekAll(client: QueueClient): Promise<Peeked[]> {
  const peeked = await client.peekMessages({ numberOfMessages: 32 });
  return peeked.peekedMessageItems.map((item) => ({
    text: item.messageText,
    decoded: JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')) as unknown,
  }));
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('queueNames', () => {
  it('derives lower-case queue and poison queue names from the table prefix', () => {
    expect(queueNames('Approver')).toEqual({
      name: 'approver-approvals',
      poisonName: 'approver-approvals-poison',
    });
  });

  it('gives names Queue Storage accepts for every prefix config.ts allows', () => {
    // TABLE_PREFIX: a letter, then up to 20 letters or digits.
    for (const prefix of ['a', 'Z9', 'approver', `A${'b1'.repeat(10)}`]) {
      const { name, poisonName } = queueNames(prefix);
      for (const queue of [name, poisonName]) {
        expect(queue).toMatch(/^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/);
        expect(queue.length).toBeGreaterThanOrEqual(3);
        expect(queue.length).toBeLessThanOrEqual(63);
      }
    }
  });
});

describe('createWorkQueue (Azurite)', () => {
  it('creates both queues, and create() may run again', async () => {
    const config = storageConfig();
    const queue = createWorkQueue(config, unusedCredential);
    expect(queue.name).toBe(queueNames(config.tablePrefix).name);
    expect(queue.poisonName).toBe(queueNames(config.tablePrefix).poisonName);
    await queue.create();
    await queue.create();
    expect(await queue.clients!.queue.exists()).toBe(true);
    expect(await queue.clients!.poison.exists()).toBe(true);
    expect(queue.clients!.queue.name).toBe(queue.name);
    expect(queue.clients!.poison.name).toBe(queue.poisonName);
  });

  it('sends base64 JSON (UTF-8), the encoding the Functions queue trigger decodes', async () => {
    const queue = createWorkQueue(storageConfig(), unusedCredential);
    await queue.create();
    const job = {
      kind: 'approval',
      requestId: 'req-1',
      text: 'Genehmigt ✓ — 承認',
      n: 3,
      nested: { ok: true },
    };
    await queue.send(job);

    const [message, ...rest] = await peekAll(mainClient(queue));
    expect(rest).toHaveLength(0);
    expect(message!.text).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(message!.decoded).toEqual(job);
  });

  it('keeps a message invisible for its delay, rounding a fraction of a second up, then shows it', async () => {
    const queue = createWorkQueue(storageConfig(), unusedCredential);
    await queue.create();
    const client = mainClient(queue);
    await queue.send({ kind: 'report', requestId: 'later' }, 0.2);
    expect(await peekAll(client)).toEqual([]);

    const seen = await until(
      () => peekAll(client),
      (messages) => messages.length > 0,
      5_000,
    );
    expect(seen.map((m) => m.decoded)).toEqual([{ kind: 'report', requestId: 'later' }]);
  });

  it('treats a negative or absent delay as none', async () => {
    const queue = createWorkQueue(storageConfig(), unusedCredential);
    await queue.create();
    await queue.send({ n: 1 }, -5);
    await queue.send({ n: 2 });
    expect((await peekAll(mainClient(queue))).map((m) => m.decoded)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('takes the longest delay Queue Storage allows (seven days), and the message stays invisible', async () => {
    const queue = createWorkQueue(storageConfig(), unusedCredential);
    await queue.create();
    await queue.send({ n: 'week' }, 7 * 24 * 3_600);
    expect(await peekAll(mainClient(queue))).toEqual([]);
    expect((await mainClient(queue).getProperties()).approximateMessagesCount).toBe(1);
  });

  it('sends messages that do not expire on their own (accepted work is never dropped by a TTL)', async () => {
    const queue = createWorkQueue(storageConfig(), unusedCredential);
    await queue.create();
    await queue.send({ n: 1 });
    const received = await mainClient(queue).receiveMessages({ numberOfMessages: 1 });
    const item = received.receivedMessageItems[0];
    expect(item).toBeDefined();
    // The service's default TTL is seven days; "never" is reported as the end of time.
    expect(item!.expiresOn.getTime() - Date.now()).toBeGreaterThan(365 * 24 * 3_600_000);
  });

  it('creates a queue that is missing when it sends, instead of losing the message', async () => {
    const queue = createWorkQueue(storageConfig(), unusedCredential);
    expect(await mainClient(queue).exists()).toBe(false);
    await queue.send({ kind: 'approval', requestId: 'first' });
    expect((await peekAll(mainClient(queue))).map((m) => m.decoded)).toEqual([
      { kind: 'approval', requestId: 'first' },
    ]);

    // Deleted behind its back (an emulator restarted empty): the next send heals it again.
    await mainClient(queue).delete();
    await queue.send({ kind: 'approval', requestId: 'second' });
    expect((await peekAll(mainClient(queue))).map((m) => m.decoded)).toEqual([
      { kind: 'approval', requestId: 'second' },
    ]);
  });

  it('counts the poison queue, and a poison queue that does not exist yet counts as empty', async () => {
    const queue = createWorkQueue(storageConfig(), unusedCredential);
    expect(await queue.poisoned()).toBe(0);
    await queue.create();
    expect(await queue.poisoned()).toBe(0);
    for (let i = 0; i < 3; i++) await queue.clients!.poison.sendMessage(`bad-${i}`);
    expect(await queue.poisoned()).toBe(3);
    // Messages in the work queue are not poison.
    await queue.send({ n: 1 });
    expect(await queue.poisoned()).toBe(3);
  });

  it('keeps work queues of different table prefixes apart', async () => {
    const a = createWorkQueue(storageConfig(), unusedCredential);
    const b = createWorkQueue(storageConfig(), unusedCredential);
    await Promise.all([a.create(), b.create()]);
    await a.send({ to: 'a' });
    expect((await peekAll(mainClient(a))).map((m) => m.decoded)).toEqual([{ to: 'a' }]);
    expect(await peekAll(mainClient(b))).toEqual([]);
  });

  it('passes every attempt through the given pipeline policies (how /api/health sees the queue)', async () => {
    const seen: string[] = [];
    const policy: PipelinePolicy = {
      name: 'test-observer',
      sendRequest: async (request, next) => {
        const response = await next(request);
        seen.push(`${request.method} ${response.status}`);
        return response;
      },
    };
    const queue = createWorkQueue(storageConfig(), unusedCredential, [policy]);
    await queue.create();
    await queue.send({ n: 1 });
    expect(seen).toContain('POST 201');
    expect(seen.filter((s) => s.startsWith('PUT '))).toHaveLength(2);
  });
});

describe('storage the queue cannot be reached on', () => {
  it('fails send, poisoned and create with StoreUnavailableError when nothing listens, without the account key', async () => {
    const port = await closedPort();
    const config = storageConfig({ connectionString: connectionStringFor('127.0.0.1', 0, port) });
    const queue = createWorkQueue(config, unusedCredential);
    for (const call of [() => queue.send({ n: 1 }), () => queue.poisoned(), () => queue.create()]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreUnavailableError);
      const unavailable = error as StoreUnavailableError;
      expect(unavailable.operation).toMatch(/^queue\./);
      expect(unavailable.retryAfterSeconds).toBeGreaterThan(0);
      expect(unavailable.message).not.toContain(AZURITE_ACCOUNT_KEY);
      expect(unavailable.message).not.toMatch(/SharedKey|AccountKey|Eby8vdM02/);
    }
  });
});

describe('storage that names no queue endpoint', () => {
  it('returns a queue that refuses every call with a clear reason, and has no clients', async () => {
    // A table endpoint only: the SDK would derive a public queue endpoint from the account name.
    const tableOnly = storageConfig().connectionString!.replace(/QueueEndpoint=[^;]*;?/i, '');
    expect(tableOnly).not.toMatch(/QueueEndpoint/i);
    const config = storageConfig({ connectionString: tableOnly });
    const queue = createWorkQueue(config, unusedCredential);

    expect(queue.clients).toBeUndefined();
    expect(queue.name).toBe(queueNames(config.tablePrefix).name);
    expect(queue.poisonName).toBe(queueNames(config.tablePrefix).poisonName);
    for (const call of [() => queue.send({ n: 1 }), () => queue.poisoned(), () => queue.create()]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).message).toMatch(/QueueEndpoint/);
      expect((error as StoreUnavailableError).message).toMatch(/no work can continue later/);
    }
  });

  it("uses an account-form string's own queue, as the SDK and the Functions host derive it", () => {
    const accountForm =
      'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=' +
      Buffer.from('not-a-key').toString('base64') +
      ';EndpointSuffix=core.usgovcloudapi.net';
    const queue = createWorkQueue(storageConfig({ connectionString: accountForm }), unusedCredential);
    expect(queue.clients?.queue.url).toBe(`https://acct.queue.core.usgovcloudapi.net/${queue.name}`);
  });

  it('uses the development storage shorthand as it stands (it names the local emulator)', () => {
    const queue = createWorkQueue(
      storageConfig({ connectionString: 'UseDevelopmentStorage=true' }),
      unusedCredential,
    );
    expect(queue.clients).toBeDefined();
    expect(new URL(queue.clients!.queue.url).hostname).toBe('127.0.0.1');
  });

  it('uses the queue service URI with the managed identity when there is no connection string', async () => {
    const scopes: string[] = [];
    const credential: TokenCredential = {
      getToken: (scope): Promise<AccessToken | null> => {
        scopes.push(...(Array.isArray(scope) ? scope : [scope]));
        return Promise.resolve(null);
      },
    };
    const config = storageConfig({
      connectionString: undefined,
      queueServiceUri: 'https://acct.queue.core.windows.net//',
    });
    const queue = createWorkQueue(config, credential);
    expect(queue.clients!.queue.url).toBe(`https://acct.queue.core.windows.net/${queue.name}`);
    expect(queue.clients!.poison.url).toBe(`https://acct.queue.core.windows.net/${queue.poisonName}`);
    // The client asks the identity for a Storage token before any byte leaves; none comes, so nothing is sent.
    await expect(queue.send({ n: 1 })).rejects.toBeInstanceOf(Error);
    expect(scopes).toContain('https://storage.azure.com/.default');
  });

  it('refuses configuration that names neither a connection string nor a queue service URI', () => {
    const config = storageConfig({ connectionString: undefined, queueServiceUri: undefined });
    expect(() => createWorkQueue(config, unusedCredential)).toThrow(StoreConfigError);
    expect(() => createWorkQueue(config, unusedCredential)).toThrow(/queueServiceUri/);
    expect(() => createWorkQueue(config, unusedCredential)).toThrow(
      /the Functions host reads the same settings/,
    );
  });
});
