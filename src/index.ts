import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { app } from '@azure/functions';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { createAppState } from './composition-root.js';
import { loadConfig } from './config.js';
import { createQueues, createRoutes, createTimers } from './functions/routes.js';
import { declaredTooLarge, MAX_BODY_BYTES, readLimited } from './http/body.js';
import { problem, problemResponse } from './http/problem.js';
import type { RouteContext, RouteHandler } from './http/route-types.js';
import type { LogSink } from './logger.js';

/**
 * The Azure Functions entry (package.json `main`). It only adapts: the composition root builds everything once
 * per process from the environment, and the shared route table supplies the handlers.
 */
// dist/bundle/index.js (the deployed bundle; dist/src/index.js under tsc alike) → the app root, where
// host.json and policy/ are deployed.
const appRoot = fileURLToPath(new URL('../../', import.meta.url));
const state = createAppState(() => loadConfig(process.env), { appRoot });

/** Our JSON lines go through the invocation's own logger, so Application Insights ties them to the invocation. */
function routeContext(context: InvocationContext): RouteContext {
  const sink: LogSink = (level, line) => {
    if (level === 'error') context.error(line);
    else if (level === 'warn') context.warn(line);
    else if (level === 'debug') context.debug(line);
    else context.info(line);
  };
  return { invocationId: context.invocationId, sink };
}

function adapt(handler: RouteHandler) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      // A declared length over the limit is refused from the header alone, before a byte is read.
      const declared = declaredTooLarge(request.headers.get('content-length') ?? undefined, MAX_BODY_BYTES);
      const { body, tooLarge } = declared
        ? { body: new Uint8Array(0), tooLarge: true }
        : await readLimited(request.body, MAX_BODY_BYTES);
      const response = await handler(
        {
          method: request.method,
          url: new URL(request.url),
          header: (name) => request.headers.get(name) ?? undefined,
          body,
          bodyTooLarge: tooLarge,
          params: request.params,
        },
        routeContext(context),
      );
      return { status: response.status, headers: response.headers, body: response.body };
    } catch (error) {
      // A defect of ours still answers problem+json with an id the logs carry, never a bare host 500.
      const id = randomUUID();
      context.error(
        JSON.stringify({ level: 'error', event: 'host.unhandled', requestId: id, error: String(error) }),
      );
      const p = problemResponse(
        problem('internal', id, 'Unexpected error; give the request id to the operator.'),
      );
      return { status: p.status, headers: p.headers, body: p.body };
    }
  };
}

for (const route of createRoutes(state)) {
  app.http(route.name, {
    methods: [...route.methods],
    route: route.route,
    authLevel: route.authLevel,
    handler: adapt(route.handler),
  });
}

for (const timer of createTimers(state)) {
  app.timer(timer.name, {
    schedule: timer.schedule,
    handler: async (_timer, context) => timer.handler(routeContext(context)),
  });
}

for (const queue of createQueues(state)) {
  app.storageQueue(queue.name, {
    queueName: queue.queueName,
    // Identity-based: AzureWebJobsStorage__queueServiceUri and the app's managed identity, no keys.
    connection: 'AzureWebJobsStorage',
    handler: async (message, context) => queue.handler(message, routeContext(context)),
  });
}
