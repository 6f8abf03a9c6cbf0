/**
 * The Table and Queue endpoints in a storage connection string (`AzureWebJobsStorage`), and the same string
 * pointed elsewhere: the bench puts a counting proxy in front of Azurite by giving one host a rewritten string.
 */

export class ConnectionStringError extends Error {
  override readonly name = 'ConnectionStringError';
}

function parts(connectionString: string): Array<[string, string]> {
  return connectionString
    .split(';')
    .filter((part) => part.includes('='))
    .map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at), part.slice(at + 1)];
    });
}

export function storageEndpoint(connectionString: string, key: 'TableEndpoint' | 'QueueEndpoint'): URL {
  const value = parts(connectionString).find(([k]) => k === key)?.[1];
  if (value === undefined) throw new ConnectionStringError(`the connection string has no ${key}`);
  return new URL(value);
}

/** The same string with each named endpoint's origin replaced (the account path is kept). */
export function withEndpoints(
  connectionString: string,
  origins: Partial<Record<'TableEndpoint' | 'QueueEndpoint', string>>,
): string {
  return parts(connectionString)
    .map(([key, value]) => {
      const origin = origins[key as 'TableEndpoint' | 'QueueEndpoint'];
      if (origin === undefined) return `${key}=${value}`;
      const url = new URL(value);
      return `${key}=${origin}${url.pathname}`;
    })
    .map((part) => `${part};`)
    .join('');
}
