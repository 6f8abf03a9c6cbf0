/**
 * The host-neutral shape of a route: the Azure Functions registration and the local host both adapt their own
 * request objects to these, so the two serve exactly the same handlers.
 */

export interface RouteRequest {
  method: string;
  url: URL;
  /** Header lookup, case-insensitive; undefined when absent. */
  header(name: string): string | undefined;
  /** The raw body, read with the body limit (never more than limit + 1 bytes). */
  body: Uint8Array;
  /** True when the body was cut at the limit: the route answers 413. */
  bodyTooLarge: boolean;
  params: Readonly<Record<string, string>>;
}

export interface RouteResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type RouteHandler = (request: RouteRequest) => Promise<RouteResponse>;

export interface RouteDefinition {
  /** Function name in Azure (unique, stable). */
  name: string;
  methods: readonly ('GET' | 'POST')[];
  /** Route template under /api, Azure Functions syntax: `approvals/{id}`. */
  route: string;
  authLevel: 'anonymous' | 'function';
  handler: RouteHandler;
}
