import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { StorageConfig } from '../config.js';
import { StoreError } from './errors.js';
import { tableCall } from './table-call.js';

export interface TableClientTuning {
  /** SDK retries per call (default 3). Tests pointing at a closed port use 0. */
  maxRetries?: number;
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Per-attempt socket timeout (default 5000 ms), so a black-holed endpoint fails instead of hanging. */
  requestTimeoutMs?: number;
}

export interface TableNames {
  idempotency: string;
  audit: string;
  nonces: string;
}

export interface StoreTables {
  idempotency: TableClient;
  audit: TableClient;
  nonces: TableClient;
  names: TableNames;
  /** Creates the three tables once per StoreTables instance; concurrent callers share one attempt. */
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
  return { idempotency: `${prefix}Idempotency`, audit: `${prefix}Audit`, nonces: `${prefix}Nonces` };
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
    additionalPolicies: [{ policy: timeoutPolicy, position: 'perRetry' }],
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

  const clients = {
    idempotency: make(names.idempotency),
    audit: make(names.audit),
    nonces: make(names.nonces),
  };
  let creating: Promise<void> | undefined;
  const ensureTables = (): Promise<void> => {
    creating ??= Promise.all(
      Object.values(clients).map((client) =>
        // The SDK already swallows 409 TableAlreadyExists; accepting it here too keeps that a non-event.
        tableCall('ensureTables', () => client.createTable(), [409]),
      ),
    ).then(
      () => undefined,
      (error: unknown) => {
        // Let a later request try again rather than caching the failure for the life of the process.
        creating = undefined;
        throw error;
      },
    );
    return creating;
  };
  return { ...clients, names, ensureTables };
}

function isLoopbackHttp(connectionString: string): boolean {
  const match = /(?:^|;)\s*TableEndpoint=([^;]+)/i.exec(connectionString);
  if (match?.[1] === undefined) return false;
  try {
    const url = new URL(match[1].trim());
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}
