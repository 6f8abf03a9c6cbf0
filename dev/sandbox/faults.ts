/**
 * Fault injection for the sandbox Resource Manager. Rules are checked in the order they were added; the first
 * rule that matches a request and still has `times` left fires (only one per request) and counts down.
 */

export type FaultKind = 'latency' | 'status' | 'drop';

export interface FaultRule {
  /** HTTP method to match (case-insensitive); any when omitted. */
  method?: string;
  /** Substring of the percent-decoded request path (query excluded), compared case-insensitively; any when omitted. */
  pathIncludes?: string;
  /** How many matching requests the rule affects; default 1, `Infinity` allowed. */
  times?: number;
  /**
   * - `latency`: wait `latencyMs`, then handle normally.
   * - `status`: a 2xx `status` handles the request normally (a PUT is applied) and answers with that status;
   *   any other status answers a CloudError (`code`/`message`, optional `Retry-After`) without applying,
   *   unless `afterApply` is set (the write lands, then the error is returned).
   * - `drop`: destroy the socket without a response; with `afterApply` a PUT is applied first.
   */
  kind: FaultKind;
  latencyMs?: number;
  status?: number;
  /** Retry-After header value, e.g. '1' or an HTTP date. */
  retryAfter?: string;
  code?: string;
  message?: string;
  afterApply?: boolean;
}

export interface ActiveFault {
  rule: Readonly<FaultRule>;
}

export interface FaultController {
  add(rule: FaultRule | readonly FaultRule[]): void;
  clear(): void;
  /** Rules that still have uses left, with their remaining `times`. */
  list(): FaultRule[];
}

/** The server-side half: consumes a use of the first matching rule. */
export interface FaultMatcher extends FaultController {
  take(method: string, path: string): ActiveFault | undefined;
}

export class FaultRuleError extends Error {
  override readonly name = 'FaultRuleError';
}

const KINDS: readonly FaultKind[] = ['latency', 'status', 'drop'];
const KEYS = [
  'method',
  'pathIncludes',
  'times',
  'kind',
  'latencyMs',
  'status',
  'retryAfter',
  'code',
  'message',
  'afterApply',
];

const ERROR_CODES: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'AuthenticationFailed',
  403: 'AuthorizationFailed',
  404: 'NotFound',
  408: 'RequestTimeout',
  409: 'Conflict',
  412: 'PreconditionFailed',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** The code Resource Manager uses for a bare HTTP status, for injected errors that name none. */
export function defaultErrorCode(status: number): string {
  return ERROR_CODES[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}

export function defaultErrorMessage(status: number): string {
  switch (status) {
    case 429:
      return 'The request is being throttled as the limit has been reached for operation type - Write. For more information, see - https://aka.ms/srpthrottlinglimits';
    case 500:
      return 'An internal server error occurred while processing the request. (injected by the sandbox)';
    case 503:
      return 'The service is currently unavailable. Please retry the request later. (injected by the sandbox)';
    case 409:
      return 'Operation is not allowed because another operation is in progress on the resource. (injected by the sandbox)';
    default:
      return `Injected fault: HTTP ${status}.`;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new FaultRuleError(`fault rule '${key}' must be a string`);
  return v;
}

/**
 * Validates one rule (from code or from the admin endpoint's JSON). JSON cannot carry Infinity, so `times` also
 * accepts the string "Infinity" or null for "forever".
 */
export function parseFaultRule(value: unknown): FaultRule {
  if (!isRecord(value)) throw new FaultRuleError('a fault rule must be an object');
  for (const key of Object.keys(value)) {
    if (!KEYS.includes(key)) throw new FaultRuleError(`fault rule has unknown property '${key}'`);
  }
  const kind = value.kind;
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
    throw new FaultRuleError(`fault rule 'kind' must be one of ${KINDS.join(', ')}`);
  }
  const rule: FaultRule = { kind: kind as FaultKind };

  const method = optionalString(value, 'method');
  if (method !== undefined) rule.method = method.toUpperCase();
  const pathIncludes = optionalString(value, 'pathIncludes');
  if (pathIncludes !== undefined) rule.pathIncludes = pathIncludes;

  const times = value.times;
  if (times === null || times === 'Infinity') rule.times = Infinity;
  else if (times !== undefined) {
    if (typeof times !== 'number' || !(times === Infinity || (Number.isInteger(times) && times > 0))) {
      throw new FaultRuleError("fault rule 'times' must be a positive integer or Infinity");
    }
    rule.times = times;
  }

  if (value.latencyMs !== undefined) {
    if (typeof value.latencyMs !== 'number' || !Number.isFinite(value.latencyMs) || value.latencyMs < 0) {
      throw new FaultRuleError("fault rule 'latencyMs' must be a non-negative number");
    }
    rule.latencyMs = value.latencyMs;
  }
  if (value.status !== undefined) {
    if (
      typeof value.status !== 'number' ||
      !Number.isInteger(value.status) ||
      value.status < 200 ||
      value.status > 599
    ) {
      throw new FaultRuleError("fault rule 'status' must be an HTTP status between 200 and 599");
    }
    rule.status = value.status;
  }
  const retryAfter = optionalString(value, 'retryAfter');
  if (retryAfter !== undefined) {
    // The value becomes a response header; refuse anything that could split it.
    if (!/^[\x20-\x7e]+$/.test(retryAfter))
      throw new FaultRuleError("fault rule 'retryAfter' must be printable ASCII");
    rule.retryAfter = retryAfter;
  }
  const code = optionalString(value, 'code');
  if (code !== undefined) rule.code = code;
  const message = optionalString(value, 'message');
  if (message !== undefined) rule.message = message;
  if (value.afterApply !== undefined) {
    if (typeof value.afterApply !== 'boolean')
      throw new FaultRuleError("fault rule 'afterApply' must be a boolean");
    rule.afterApply = value.afterApply;
  }

  if (rule.kind === 'latency' && rule.latencyMs === undefined) {
    throw new FaultRuleError("a 'latency' fault needs 'latencyMs'");
  }
  if (rule.kind === 'status' && rule.status === undefined)
    throw new FaultRuleError("a 'status' fault needs 'status'");
  return rule;
}

export function parseFaultRules(value: unknown): FaultRule[] {
  return Array.isArray(value) ? value.map(parseFaultRule) : [parseFaultRule(value)];
}

interface Slot {
  rule: FaultRule;
  remaining: number;
}

export function createFaultController(): FaultMatcher {
  let slots: Slot[] = [];
  return {
    add(rule) {
      const rules = Array.isArray(rule) ? (rule as readonly FaultRule[]) : [rule as FaultRule];
      // Validate every rule before adding any, so a bad batch leaves the set unchanged.
      const parsed = rules.map((r) => parseFaultRule({ ...r }));
      for (const r of parsed) slots.push({ rule: r, remaining: r.times ?? 1 });
    },
    clear() {
      slots = [];
    },
    list() {
      return slots.map((s) => ({ ...s.rule, times: s.remaining }));
    },
    take(method, path) {
      const m = method.toUpperCase();
      const p = path.toLowerCase();
      const slot = slots.find(
        (s) =>
          s.remaining > 0 &&
          (s.rule.method === undefined || s.rule.method === m) &&
          (s.rule.pathIncludes === undefined || p.includes(s.rule.pathIncludes.toLowerCase())),
      );
      if (slot === undefined) return undefined;
      slot.remaining -= 1;
      if (slot.remaining <= 0) slots = slots.filter((s) => s !== slot);
      return { rule: slot.rule };
    },
  };
}
