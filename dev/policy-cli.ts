import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ApprovalRequest, AuthScheme, CallerIdentity, SourceName } from '../src/model/approval.js';
import { evaluatePolicy } from '../src/policy/evaluate.js';
import { parsePolicy } from '../src/policy/loader.js';
import { PolicyError } from '../src/policy/policy-error.js';
import type { PolicyProblem } from '../src/policy/policy-error.js';
import type { Policy, PolicyInput } from '../src/policy/types.js';

/**
 * `npm run policy -- check [file]` and `npm run policy -- explain <request.json> [options]`: validate a
 * policy, or show what it decides for one request, without any network call.
 * Exit codes: 0 OK / allowed, 1 invalid policy (check) or denied (explain), 2 usage or input error.
 */

export interface PolicyCliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => string;
  /** Clock for `explain` without --at. */
  now?: () => number;
  /** The policy used when none is named: the host's POLICY_PATH when set, so the CLI checks what it loads. */
  defaultPolicy?: string;
}

const DEFAULT_POLICY = 'policy/policy.yaml';

const USAGE = `Usage:
  policy check [file]                      validate a policy (default POLICY_PATH, else ${DEFAULT_POLICY})
  policy explain <request.json> [options]  evaluate one canonical request (the POST /api/approvals body)

explain options:
  --policy <file>            policy to use (default POLICY_PATH, else ${DEFAULT_POLICY})
  --state <status>           the connection's current status (default Pending)
  --caller <source:id>       verified caller, e.g. servicenow:servicenow-webhook-secret (default generic:cli)
  --scheme <scheme>          authentication scheme (default: the source's usual one)
  --tenant <id>              the caller's tenant
  --group <id>               a group the caller's token carries (repeatable)
  --private-endpoint <id>    the connection's private endpoint resource id
  --consumer-tenant <id>     the private endpoint's tenant, if known
  --at <ISO time>            evaluate as of this instant (default now)

Exit codes: 0 OK or allowed, 1 invalid policy or denied, 2 usage or input error.
`;

const SOURCES: readonly SourceName[] = ['generic', 'servicenow', 'teams', 'slack', 'discovery'];
const SCHEMES: readonly AuthScheme[] = [
  'entra',
  'standard-webhooks',
  'teams-hmac',
  'slack-v0',
  'function-key',
];
const USUAL_SCHEME: Record<SourceName, AuthScheme> = {
  discovery: 'discovery',
  generic: 'entra',
  servicenow: 'standard-webhooks',
  teams: 'teams-hmac',
  slack: 'slack-v0',
};

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function formatCliProblem(file: string, problem: PolicyProblem): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}:${problem.column ?? 1}`;
  return `${where} ${problem.pointer === '' ? '(document)' : problem.pointer} ${problem.message}\n`;
}

function readPolicy(path: string, io: PolicyCliIo): Policy {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PolicyError(path, [
      { pointer: '', message: `cannot read the file (${code ?? String(error)})` },
    ]);
  }
  return parsePolicy(text, path);
}

function check(args: string[], io: PolicyCliIo): number {
  if (args.length > 1) throw new UsageError('check takes at most one file');
  const file = args[0] ?? io.defaultPolicy ?? DEFAULT_POLICY;
  try {
    const policy = readPolicy(file, io);
    io.stdout(`OK ${file}: ${policy.rules.length} rule(s), sha256 ${policy.sha256}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    for (const problem of error.problems) io.stderr(formatCliProblem(file, problem));
    return 1;
  }
}

// A time without Z or an offset would be read in this machine's zone, and change windows would shift with it.
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * `--at`: an RFC 3339 time with Z or an offset. Date.parse alone takes other shapes and rolls an impossible
 * date over (2025-02-30 is 2 March), which would explain the request at a time nobody asked for.
 */
function parseInstant(text: string): number {
  const parts = INSTANT.exec(text);
  const at = parts ? Date.parse(text) : Number.NaN;
  const [year, month, day, hour, minute, second] = (parts ?? []).slice(1).map(Number);
  const exists =
    parts !== null &&
    new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 0)).getUTCDate() === day &&
    (hour ?? 0) < 24 &&
    (minute ?? 0) < 60 &&
    (second ?? 0) < 60;
  if (!exists || !Number.isFinite(at)) {
    throw new UsageError(
      `--at must be an ISO 8601 time with Z or an offset, e.g. 2025-06-02T09:30:00Z (got ${JSON.stringify(text)})`,
    );
  }
  return at;
}

function readRequest(path: string, io: PolicyCliIo): ApprovalRequest {
  let value: unknown;
  try {
    value = JSON.parse(io.readFile(path));
  } catch (error) {
    throw new UsageError(
      `cannot read ${path} as JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const request = value as Partial<ApprovalRequest> | null;
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new UsageError(`${path} must hold a JSON object (the canonical request)`);
  }
  if (typeof request.connectionId !== 'string')
    throw new UsageError(`${path}: connectionId must be a string`);
  if (request.decision !== 'Approved' && request.decision !== 'Rejected') {
    throw new UsageError(`${path}: decision must be Approved or Rejected`);
  }
  return request as ApprovalRequest;
}

function parseCaller(text: string, scheme: string | undefined, tenant: string | undefined, groups: string[]) {
  const colon = text.indexOf(':');
  const source = (colon < 0 ? text : text.slice(0, colon)) as SourceName;
  const id = colon < 0 ? '' : text.slice(colon + 1);
  if (!SOURCES.includes(source) || id === '') {
    throw new UsageError(`--caller must be <source>:<id> with source one of ${SOURCES.join(', ')}`);
  }
  if (scheme !== undefined && !(SCHEMES as readonly string[]).includes(scheme)) {
    throw new UsageError(`--scheme must be one of ${SCHEMES.join(', ')}`);
  }
  const caller: CallerIdentity = {
    source,
    scheme: (scheme as AuthScheme | undefined) ?? USUAL_SCHEME[source],
    id,
    ...(tenant !== undefined ? { tenantId: tenant } : {}),
    ...(groups.length > 0 ? { groups } : {}),
  };
  return caller;
}

function explain(args: string[], io: PolicyCliIo): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      policy: { type: 'string', default: io.defaultPolicy ?? DEFAULT_POLICY },
      state: { type: 'string', default: 'Pending' },
      caller: { type: 'string', default: 'generic:cli' },
      scheme: { type: 'string' },
      tenant: { type: 'string' },
      group: { type: 'string', multiple: true, default: [] },
      'private-endpoint': { type: 'string' },
      'consumer-tenant': { type: 'string' },
      at: { type: 'string' },
    },
  });
  if (positionals.length !== 1 || positionals[0] === undefined) {
    throw new UsageError('explain needs exactly one request file');
  }
  const request = readRequest(positionals[0], io);
  const caller = parseCaller(values.caller, values.scheme, values.tenant, values.group);
  const now = values.at === undefined ? (io.now ?? Date.now)() : parseInstant(values.at);

  let policy: Policy;
  try {
    policy = readPolicy(values.policy, io);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    for (const problem of error.problems) io.stderr(formatCliProblem(values.policy, problem));
    return 2;
  }
  const privateEndpointId = values['private-endpoint'];
  const input: PolicyInput = {
    request,
    caller,
    connection: {
      id: request.connectionId,
      name: request.connectionId.split('/').pop() ?? '',
      status: values.state,
      ...(privateEndpointId !== undefined ? { privateEndpointId } : {}),
    },
    now,
    ...(values['consumer-tenant'] !== undefined ? { consumerTenantId: values['consumer-tenant'] } : {}),
  };
  const evaluation = evaluatePolicy(policy, input);
  const report = {
    policy: { file: policy.file, sha256: policy.sha256 },
    evaluatedAt: new Date(now).toISOString(),
    caller,
    connection: input.connection,
    ...evaluation,
  };
  io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  return evaluation.allowed ? 0 : 1;
}

/** Runs one CLI invocation; returns the exit code. Testable: all I/O goes through `io`. */
export function runPolicyCli(argv: readonly string[], io: PolicyCliIo): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'check':
        return check(rest, io);
      case 'explain':
        return explain(rest, io);
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return 0;
      default:
        throw new UsageError(
          command === undefined ? 'no command given' : `unknown command ${JSON.stringify(command)}`,
        );
    }
  } catch (error) {
    // parseArgs reports unknown or malformed options with a TypeError carrying an ERR_PARSE_ARGS_* code.
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      io.stderr(`${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  process.exitCode = runPolicyCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readFile: (path) => readFileSync(path, 'utf8'),
    now: () => Date.now(),
    ...(process.env.POLICY_PATH ? { defaultPolicy: process.env.POLICY_PATH } : {}),
  });
}
