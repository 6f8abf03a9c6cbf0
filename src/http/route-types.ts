import type { LogSink } from '../logger.js';

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
  /** Fields for the request's one log line (why it was refused, what it decided); never sent. */
  log?: Record<string, unknown>;
}

/** What the host knows about one invocation: its id and where its log lines go. */
export interface RouteContext {
  /** The Functions invocation id (a fresh id on the local host), logged beside our request id. */
  invocationId: string;
  /** The host's logger for this invocation (InvocationContext in Azure); the app's own sink when absent. */
  sink?: LogSink;
}

export type RouteHandler = (request: RouteRequest, context: RouteContext) => Promise<RouteResponse>;

export interface RouteDefinition {
  /** Function name in Azure (unique, stable). */
  name: string;
  methods: readonly ('GET' | 'HEAD' | 'POST')[];
  /** Route template under /api, Azure Functions syntax: `approvals/{id}`. */
  route: string;
  authLevel: 'anonymous' | 'function';
  handler: RouteHandler;
}

/** A timer-triggered function: same table for Azure and the local host. */
export interface TimerDefinition {
  name: string;
  /** NCRONTAB (six fields, seconds first), as Azure Functions timers take it. */
  schedule: string;
  handler: (context: RouteContext) => Promise<void>;
}

/** A queue-triggered function: the Functions host in Azure, a polling loop on the local host. */
export interface QueueDefinition {
  name: string;
  queueName: string;
  /** Throws to have the message delivered again (after `maxDequeueCount` tries it goes to the poison queue). */
  handler: (message: unknown, context: RouteContext) => Promise<void>;
}
