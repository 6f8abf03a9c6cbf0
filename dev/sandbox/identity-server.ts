import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenOnLoopback, sendJson } from './http-util.js';
import type { TokenService } from './tokens.js';

/**
 * The App Service / Azure Functions managed identity endpoint (protocol 2019-08-01), as @azure/msal-node's
 * AppService source calls it: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<resource>` with header
 * `X-IDENTITY-HEADER: {IDENTITY_HEADER}`, plus `client_id` / `object_id` / `principal_id` / `mi_res_id` for a
 * user-assigned identity. Plain HTTP on loopback, like the real one (which listens on localhost inside the
 * sandboxed worker).
 */

export const IDENTITY_API_VERSION = '2019-08-01';
export const IDENTITY_PATH = '/msi/token';

export interface IdentityServerOptions {
  tokens: TokenService;
  /** The secret the caller must present in X-IDENTITY-HEADER. */
  identityHeader: string;
  /** Client id of the identity the sandbox hands tokens out for. */
  clientId: string;
  port?: number;
}

export interface IdentityServer {
  /** http://127.0.0.1:<port>/msi/token */
  endpoint: string;
  port: number;
  /** Every request that reached the token path, whatever its outcome. */
  tokenRequests(): number;
  resetCounts(): void;
  close(): Promise<void>;
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time comparison; hashing first gives equal-length buffers whatever the inputs. */
function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

const send = sendJson;

/** App Service's error body; msal-node surfaces `message` as the error description. */
function fail(res: ServerResponse, status: number, message: string): void {
  send(res, status, { statusCode: status, message, correlationId: randomUUID() });
}

export async function startIdentityServer(options: IdentityServerOptions): Promise<IdentityServer> {
  let tokenRequests = 0;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    // The body is never used; drain it so keep-alive connections stay usable.
    req.resume();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // The platform's endpoint answers its path in any case, with or without a trailing slash (Microsoft's samples
    // call `${IDENTITY_ENDPOINT}/?resource=…`).
    if (url.pathname.toLowerCase().replace(/\/$/, '') !== IDENTITY_PATH) {
      fail(res, 404, 'Not found.');
      return;
    }
    tokenRequests += 1;
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      fail(res, 405, `The HTTP method '${req.method ?? ''}' is not supported; use GET.`);
      return;
    }
    const header = req.headers['x-identity-header'];
    if (header === undefined) {
      fail(res, 400, 'The request is missing the X-IDENTITY-HEADER header.');
      return;
    }
    if (typeof header !== 'string' || !sameSecret(header, options.identityHeader)) {
      fail(res, 401, 'The X-IDENTITY-HEADER header value is not valid.');
      return;
    }
    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion === null) {
      fail(res, 400, `The api-version query parameter is required; supported: ${IDENTITY_API_VERSION}.`);
      return;
    }
    if (apiVersion !== IDENTITY_API_VERSION) {
      fail(res, 400, `The api-version '${apiVersion}' is not supported; supported: ${IDENTITY_API_VERSION}.`);
      return;
    }
    const resource = url.searchParams.get('resource');
    if (resource === null || resource.trim() === '') {
      fail(res, 400, 'The resource query parameter is required.');
      return;
    }
    // Only one identity is assigned to the sandbox; asking for another fails as it does on App Service.
    const clientId = url.searchParams.get('client_id');
    if (clientId !== null && clientId.toLowerCase() !== options.clientId.toLowerCase()) {
      fail(
        res,
        400,
        `Unable to load the proper Managed Identity. No identity with client id '${clientId}' is assigned.`,
      );
      return;
    }
    const issued = options.tokens.issue({ resource, clientId: options.clientId });
    send(res, 200, {
      access_token: issued.token,
      expires_on: String(issued.expiresOn),
      resource,
      token_type: 'Bearer',
      client_id: options.clientId,
    });
  };

  const server = createServer(handle);
  const port = await listenOnLoopback(server, options.port);

  return {
    endpoint: `http://127.0.0.1:${port}${IDENTITY_PATH}`,
    port,
    tokenRequests: () => tokenRequests,
    resetCounts() {
      tokenRequests = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
