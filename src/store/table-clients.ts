import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { StorageConfig } from '../config.js';
import { isLoopbackHttpUrl } from '../loopback.js';
import { StoreError } from './errors.js';
import type { CallResult } from './table-call.js';
import { classify, isTableNotFound, tableCall } from './table-call.js';

export interface TableClientTuning {
  /** SDK retries per call (default 3). Tests pointing at a closed port use 0. */
  maxRetries?: number;
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Per-attempt socket timeout (default 5000 ms), so a black-holed endpoint fails instead of hanging. */
  requestTimeoutMs?: number;
  /** Sees every attempt (the app reports storage health through it). */
  policies?: PipelinePolicy[];
}

export interface TableNames {
  idempotency: string;
  audit: string;
  nonces: string;
  operations: string;
  discovery: string;
}

/**
 * One table and the calls made on it. A call that finds the table missing (an emulator restarted empty, a table
 * deleted by hand) creates it and tries once more, so storage that comes back empty heals without a restart.
 */
export interface StoreTable {
  readonly name: string;
  /** For queries, whose pages are read by the caller. */
  readonly client: TableClient;
  call<T>(
    operation: string,
    fn: (client: TableClient) => Promise<T>,
    expected?: readonly number[],
  ): Promise<CallResult<T>>;
  callOrThrow<T>(operation: string, fn: (client: TableClient) => Promise<T>): Promise<T>;
  create(): Promise<void>;
}

export interface StoreTables {
  idempotency: StoreTable;
  audit: StoreTable;
  nonces: StoreTable;
  operations: StoreTable;
  discovery: StoreTable;
  names: TableNames;
  /** Creates the tables; the app calls it once at start-up. */
  ensureTables(): Promise<void>;
}

/** Thrown when StorageConfig names no usable endpoint (a configuration bug, not an outage). */
export class StoreConfigError extends StoreError {
  override readonly name = 'StoreConfigError';
  constructor(message: string) {
    super(message, 'createTableClients');
  }
}

/** Table names allow only letters and digits, so the prefix (validated in config.ts) is used as is. */
export function tableNames(prefix: string): TableNames {
  return {
    idempotency: `${prefix}Idempotency`,
    audit: `${prefix}Audit`,
    nonces: `${prefix}Nonces`,
    operations: `${prefix}Operations`,
    discovery: `${prefix}Discovery`,
  };
}

function storeTable(name: string, client: TableClient): StoreTable {
  let creating: Promise<void> | undefined;
  const create = (): Promise<void> => {
    // Concurrent callers that all found the table missing share one creation.
    creating ??= tableCall(`create ${name}`, () => client.createTable(), [409]).then(
      () => {
        creating = undefined;
      },
      (error: unknown) => {
        creating = undefined;
        throw error;
      },
    );
    return creating;
  };
  const call = async <T>(
    operation: string,
    fn: (c: TableClient) => Promise<T>,
    expected: readonly number[] = [],
  ): Promise<CallResult<T>> => {
    try {
      return { ok: true, value: await fn(client) };
    } catch (error) {
      if (!isTableNotFound(error)) return classify(operation, error, expected);
      await create();
      return tableCall(operation, () => fn(client), expected);
    }
  };
  return {
    name,
    client,
    call,
    async callOrThrow(operation, fn) {
      const result = await call(operation, fn);
      // With no status expected, every failure was already thrown as a StoreError.
      if (!result.ok) throw new TypeError(`${operation}: unexpected HTTP ${result.status}`);
      return result.value;
    },
    create,
  };
}

/**
 * In Azure: the managed identity against `tableServiceUri` (never account keys). Locally: a connection string,
 * `UseDevelopmentStorage=true` or Azurite's. Plain http is allowed only for loopback endpoints (Azurite).
 */
export function createTableClients(
  config: StorageConfig,
  credential: TokenCredential,
  tuning: TableClientTuning = {},
): StoreTables {
  const names = tableNames(config.tablePrefix);
  const requestTimeoutMs = tuning.requestTimeoutMs ?? 5_000;
  const timeoutPolicy: PipelinePolicy = {
    name: 'storeRequestTimeout',
    sendRequest: (request, next) => {
      request.timeout = requestTimeoutMs;
      return next(request);
    },
  };
  const options: TableServiceClientOptions = {
    retryOptions: {
      maxRetries: tuning.maxRetries ?? 3,
      retryDelayInMs: tuning.retryDelayMs ?? 200,
      maxRetryDelayInMs: tuning.maxRetryDelayMs ?? 2_000,
    },
    additionalPolicies: [timeoutPolicy, ...(tuning.policies ?? [])].map((policy) => ({
      policy,
      position: 'perRetry' as const,
    })),
  };

  let make: (table: string) => TableClient;
  if (config.connectionString !== undefined) {
    const connectionString = config.connectionString;
    const withTransport: TableServiceClientOptions = {
      ...options,
      allowInsecureConnection: isLoopbackHttp(connectionString),
    };
    make = (table) => TableClient.fromConnectionString(connectionString, table, withTransport);
  } else if (config.tableServiceUri !== undefined) {
    const uri = config.tableServiceUri;
    make = (table) => new TableClient(uri, table, credential, options);
  } else {
    throw new StoreConfigError('Storage needs AzureWebJobsStorage or AzureWebJobsStorage__tableServiceUri');
  }

  const tables = {
    idempotency: storeTable(names.idempotency, make(names.idempotency)),
    audit: storeTable(names.audit, make(names.audit)),
    nonces: storeTable(names.nonces, make(names.nonces)),
    operations: storeTable(names.operations, make(names.operations)),
    discovery: storeTable(names.discovery, make(names.discovery)),
  };
  return {
    ...tables,
    names,
    ensureTables: async () => {
      await Promise.all(Object.values(tables).map((table) => table.create()));
    },
  };
}

function isLoopbackHttp(connectionString: string): boolean {
  const match = /(?:^|;)\s*TableEndpoint=([^;]+)/i.exec(connectionString);
  return match?.[1] !== undefined && isLoopbackHttpUrl(match[1].trim());
}
