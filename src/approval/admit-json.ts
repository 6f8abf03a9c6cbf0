import type { CallerIdentity } from './model.js';
import type { ReplayMarks } from '../auth/replay-guard.js';
import type { AuthDeps } from '../auth/authenticate.js';
import { authenticateWebhookOrBearer } from '../auth/authenticate.js';
import type { RequestScope } from '../http/intake.js';
import { checkEnvelope, parseJsonBody, readDryRun, readIdempotencyKey } from '../http/intake.js';
import type { RouteRequest, RouteResponse } from '../http/route-types.js';
import type { Validation } from '../sources/schema-validator.js';

export interface Admitted<T> {
  ok: true;
  value: T;
  caller: CallerIdentity;
  marks: ReplayMarks;
  dryRun: boolean;
  /** The `Idempotency-Key` header, when the caller sent one. */
  idempotencyKey?: string;
}

/**
 * The JSON routes' checks, in the order DESIGN fixes: size and content type, authentication over the raw bytes,
 * then the query and headers, parse and schema. The first refusal is the answer; nothing later runs.
 */
export async function admitJson<T>(
  auth: AuthDeps,
  source: 'generic' | 'servicenow',
  request: RouteRequest,
  scope: RequestScope,
  validate: (data: unknown) => Validation<T>,
  what: string,
): Promise<Admitted<T> | { ok: false; response: RouteResponse }> {
  const refused = checkEnvelope(request, scope, 'json');
  if (refused) return { ok: false, response: refused };
  const caller = await authenticateWebhookOrBearer(auth, source, request, scope);
  if (!caller.ok) return caller;
  const dry = readDryRun(request.url, scope);
  if (!dry.ok) return dry;
  const key = readIdempotencyKey(request, scope);
  if (!key.ok) return key;
  const parsed = parseJsonBody(request.body, validate, scope, what);
  if (!parsed.ok) return parsed;
  const admitted: Admitted<T> = {
    ok: true,
    value: parsed.value,
    caller: caller.caller,
    marks: caller.marks,
    dryRun: dry.dryRun,
  };
  if (key.key !== undefined) admitted.idempotencyKey = key.key;
  return admitted;
}
