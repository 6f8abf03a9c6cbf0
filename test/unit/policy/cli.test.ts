import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runPolicyCli } from '../../../dev/policy-cli.js';

const FIXTURES = 'test/fixtures/policy';
const MONDAY_10_AMSTERDAM = '2025-06-02T08:00:00Z';
const CONSUMER =
  '/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-consumer/providers/Microsoft.Network/privateEndpoints/pe2';

function run(argv: string[], files: Record<string, string> = {}, defaultPolicy?: string) {
  let stdout = '';
  let stderr = '';
  const code = runPolicyCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readFile: (path) => files[path] ?? readFileSync(path, 'utf8'),
    now: () => Date.parse(MONDAY_10_AMSTERDAM),
    ...(defaultPolicy === undefined ? {} : { defaultPolicy }),
  });
  return { code, stdout, stderr };
}

describe('policy CLI', () => {
  describe('check', () => {
    it('says OK for the shipped default (the default file)', () => {
      const { code, stdout, stderr } = run(['check']);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^OK policy\/policy\.yaml: 0 rule\(s\), sha256 [0-9a-f]{64}\n$/);
      expect(stderr).toBe('');
    });

    it("checks the host's POLICY_PATH when no file is named", () => {
      const { code, stdout } = run(['check'], {}, 'policy/examples/sandbox.yaml');
      expect(code).toBe(0);
      expect(stdout).toMatch(/^OK policy\/examples\/sandbox\.yaml: /);
    });

    it.each(['policy/examples/sandbox.yaml', 'policy/examples/production.yaml', `${FIXTURES}/full.yaml`])(
      'says OK for %s',
      (file) => {
        expect(run(['check', file]).code).toBe(0);
      },
    );

    it('prints each problem as file:line:column, pointer and message, exiting 1', () => {
      const { code, stdout, stderr } = run(['check', `${FIXTURES}/invalid-schema.yaml`]);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toBe(
        `${FIXTURES}/invalid-schema.yaml:4:17 /rules/0/decisions/0 must be one of: Approved, Rejected`,
      );
      expect(lines[1]).toBe(`${FIXTURES}/invalid-schema.yaml:10:9 /rules/0/callers/0/ids is required`);
      expect(lines[2]).toContain('/rules/0/consumer is not a known property');
    });

    it('reports a missing file, exiting 1', () => {
      const { code, stderr } = run(['check', 'nope.yaml']);
      expect(code).toBe(1);
      expect(stderr).toContain('nope.yaml (document) cannot read the file (ENOENT)');
    });

    it('refuses extra arguments with usage, exiting 2', () => {
      const { code, stderr } = run(['check', 'a.yaml', 'b.yaml']);
      expect(code).toBe(2);
      expect(stderr).toContain('Usage:');
    });
  });

  describe('explain', () => {
    const full = ['--policy', `${FIXTURES}/full.yaml`];
    const servicenow = ['--caller', 'servicenow:servicenow-webhook-secret'];

    it('prints an allowed decision as JSON and exits 0', () => {
      const { code, stdout } = run([
        'explain',
        `${FIXTURES}/request-approve.json`,
        ...full,
        ...servicenow,
        '--private-endpoint',
        CONSUMER,
        '--at',
        MONDAY_10_AMSTERDAM,
      ]);
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as Record<string, unknown>;
      expect(report).toMatchObject({
        policy: { file: `${FIXTURES}/full.yaml` },
        evaluatedAt: '2025-06-02T08:00:00.000Z',
        caller: { source: 'servicenow', scheme: 'standard-webhooks', id: 'servicenow-webhook-secret' },
        connection: { status: 'Pending', name: 'privateendpointconnection1', privateEndpointId: CONSUMER },
        allowed: true,
        status: 200,
        reasons: [{ rule: 'approve' }],
        description: expect.stringContaining(
          'CHG0031234 Approved by bob@contoso.com via servicenow',
        ) as unknown,
      });
    });

    it('prints every reason of a denial and exits 1', () => {
      const { code, stdout } = run([
        'explain',
        `${FIXTURES}/request-approve.json`,
        ...full,
        ...servicenow,
        '--at',
        '2025-06-07T10:00:00Z',
        '--state',
        'Rejected',
      ]);
      expect(code).toBe(1);
      const report = JSON.parse(stdout) as { status: number; reasons: { rule: string }[] };
      expect(report.status).toBe(409);
      expect(report.reasons.map((reason) => reason.rule)).toEqual([
        'transitions',
        'approve.consumers',
        'approve.changeWindows',
        'reject.decisions',
      ]);
    });

    it('uses the clock when --at is absent, and the usual scheme, tenant and groups given', () => {
      const { code, stdout } = run([
        'explain',
        `${FIXTURES}/request-reject.json`,
        ...full,
        '--caller',
        'teams:29:1abc',
        '--tenant',
        'tenant-1',
        '--group',
        'g1',
        '--group',
        'g2',
      ]);
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as Record<string, unknown>;
      expect(report).toMatchObject({
        evaluatedAt: '2025-06-02T08:00:00.000Z',
        caller: {
          source: 'teams',
          scheme: 'teams-hmac',
          id: '29:1abc',
          tenantId: 'tenant-1',
          groups: ['g1', 'g2'],
        },
        allowed: true,
      });
    });

    it('defaults to the shipped policy, which denies', () => {
      const { code, stdout } = run(['explain', `${FIXTURES}/request-reject.json`]);
      expect(code).toBe(1);
      expect(JSON.parse(stdout)).toMatchObject({
        policy: { file: 'policy/policy.yaml' },
        allowed: false,
        status: 403,
      });
    });

    it.each<[string, string[], Record<string, string>, string]>([
      ['no request file', ['explain'], {}, 'exactly one request file'],
      ['two request files', ['explain', 'a.json', 'b.json'], {}, 'exactly one request file'],
      [
        'an unknown option',
        ['explain', `${FIXTURES}/request-reject.json`, '--stat', 'Pending'],
        {},
        "Unknown option '--stat'",
      ],
      ['a missing request file', ['explain', 'missing.json'], {}, 'cannot read missing.json as JSON'],
      ['a request that is not JSON', ['explain', 'r.json'], { 'r.json': '{' }, 'cannot read r.json as JSON'],
      ['a request that is an array', ['explain', 'r.json'], { 'r.json': '[]' }, 'must hold a JSON object'],
      [
        'a request without connectionId',
        ['explain', 'r.json'],
        { 'r.json': '{"decision":"Approved"}' },
        'connectionId',
      ],
      [
        'a request with a bad decision',
        ['explain', 'r.json'],
        { 'r.json': '{"connectionId":"x","decision":"ok"}' },
        'decision',
      ],
      [
        'a caller without id',
        ['explain', `${FIXTURES}/request-reject.json`, '--caller', 'slack'],
        {},
        '--caller must be',
      ],
      [
        'a caller of an unknown source',
        ['explain', `${FIXTURES}/request-reject.json`, '--caller', 'email:x'],
        {},
        '--caller must be',
      ],
      [
        'an unknown scheme',
        ['explain', `${FIXTURES}/request-reject.json`, '--scheme', 'basic'],
        {},
        '--scheme must be',
      ],
      ['a bad time', ['explain', `${FIXTURES}/request-reject.json`, '--at', 'tomorrow'], {}, '--at must be'],
      [
        'a time without a zone',
        ['explain', `${FIXTURES}/request-reject.json`, '--at', '2025-06-02T09:30:00'],
        {},
        'with Z or an offset',
      ],
      ...[
        ['a day the month does not have', '2025-02-30T09:30:00Z'],
        ['hour 24', '2025-06-02T24:00:00Z'],
        ['a second beyond 59', '2025-06-02T09:30:60+02:00'],
        ['a date without a time', '2025-06-02'],
        ['a time without seconds', '2025-06-02T09:30Z'],
        ['a date in words', 'Mon Jun 02 2025 09:30:00 +0200'],
      ].map(([name = '', at = '']): [string, string[], Record<string, string>, string] => [
        name,
        ['explain', `${FIXTURES}/request-reject.json`, '--at', at],
        {},
        `(got ${JSON.stringify(at)})`,
      ]),
    ])('refuses %s with usage, exiting 2', (_name, argv, files, message) => {
      const { code, stderr, stdout } = run(argv, files);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toContain(message);
    });

    it('reports an invalid policy instead of evaluating, exiting 2', () => {
      const { code, stderr } = run([
        'explain',
        `${FIXTURES}/request-reject.json`,
        '--policy',
        `${FIXTURES}/invalid-semantics.yaml`,
      ]);
      expect(code).toBe(2);
      expect(stderr).toContain('/rules/0/changeWindows/0/timeZone');
    });
  });

  it('prints usage for help and for nothing at all', () => {
    expect(run(['help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage:') as unknown });
    expect(run([])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no command given') as unknown,
    });
    expect(run(['frobnicate'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command') as unknown,
    });
  });
});
