import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluatePolicy } from '../../../src/policy/evaluate.js';
import { loadPolicy, parsePolicy } from '../../../src/policy/loader.js';
import { PolicyError } from '../../../src/policy/policy-error.js';
import { baseRule, inputOf, problemsOf, problemsOfPolicy } from './helpers.js';

const FIXTURES = 'test/fixtures/policy';

function loadError(path: string): PolicyError {
  try {
    loadPolicy(path);
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error(`expected ${path} to be refused`);
}

describe('loadPolicy / parsePolicy', () => {
  it.each([
    'policy/policy.yaml',
    'policy/examples/sandbox.yaml',
    'policy/examples/production.yaml',
    `${FIXTURES}/full.yaml`,
  ])('loads %s', (path) => {
    const policy = loadPolicy(path);
    expect(policy.version).toBe(1);
    expect(policy.file).toBe(path);
    expect(policy.sha256).toBe(createHash('sha256').update(readFileSync(path, 'utf8')).digest('hex'));
  });

  it('ships a default that allows nothing', () => {
    const policy = loadPolicy('policy/policy.yaml');
    expect(policy.rules).toHaveLength(0);
    for (const decision of ['Approved', 'Rejected'] as const) {
      const result = evaluatePolicy(policy, inputOf({ request: { decision } }));
      expect(result).toMatchObject({ allowed: false, status: 403 });
      expect(result.reasons[0]?.rule).toBe('targets');
    }
  });

  it('ships a commented sandbox example that is valid once uncommented', () => {
    const text = readFileSync('policy/policy.yaml', 'utf8');
    const example = text
      .split('\n')
      .filter((line) => line.startsWith('#  '))
      .map((line) => line.slice(1))
      .join('\n');
    expect(example).toContain('- name: sandbox-seeded-clusters');
    const policy = parsePolicy(text.replace('rules: []', `rules:\n${example}`), 'uncommented.yaml');
    expect(policy.rules.map((rule) => rule.name)).toEqual(['sandbox-seeded-clusters']);
    expect(evaluatePolicy(policy, inputOf()).allowed).toBe(true);
  });

  it('reports every schema problem with file, pointer, line and column', () => {
    const error = loadError(`${FIXTURES}/invalid-schema.yaml`);
    expect(error.file).toBe(`${FIXTURES}/invalid-schema.yaml`);
    expect(error.problems).toEqual([
      { pointer: '/rules/0/decisions/0', message: 'must be one of: Approved, Rejected', line: 4, column: 17 },
      { pointer: '/rules/0/callers/0/ids', message: 'is required', line: 10, column: 9 },
      {
        pointer: '/rules/0/consumer',
        message: expect.stringContaining('is not a known property here') as unknown as string,
        line: 12,
        column: 7,
      },
    ]);
    expect(error.message).toContain(`Invalid policy ${FIXTURES}/invalid-schema.yaml`);
    expect(error.message).toContain('/rules/0/callers/0/ids: is required');
  });

  it('reports problems a schema cannot see (time zones) with their location', () => {
    const error = loadError(`${FIXTURES}/invalid-semantics.yaml`);
    expect(error.problems).toEqual([
      {
        pointer: '/rules/0/changeWindows/0/timeZone',
        message: expect.stringContaining('"Europe/Amsterdamm" is not an IANA time zone') as unknown as string,
        line: 13,
        column: 19,
      },
    ]);
  });

  it('refuses duplicate keys, which could hide what a reviewer saw', () => {
    const error = loadError(`${FIXTURES}/invalid-yaml.yaml`);
    expect(error.problems[0]).toMatchObject({ pointer: '', line: 3 });
    expect(error.problems[0]?.message).toContain('unique');
  });

  it.each([
    ['unknown tag', 'version: 1\nrules: !include other.yaml\n', 'Unresolved tag'],
    ['syntax error', 'version: 1\nrules: [\n', 'YAML'],
    ['empty document', '', 'YAML mapping'],
    ['a list instead of a mapping', '- 1\n', 'YAML mapping'],
    ['a scalar', 'hello\n', 'YAML mapping'],
  ])('refuses a document with %s', (_name, text, message) => {
    expect(
      problemsOf(text)
        .map((problem) => problem.message)
        .join(' '),
    ).toContain(message);
  });

  it.each([
    [{ rules: [] }, '/version', 'is required'],
    [{ version: 2, rules: [] }, '/version', 'must be 1'],
    [{ version: 1 }, '/rules', 'is required'],
    [{ version: 1, rules: [], rule: [] }, '/rule', 'known: version, description, defaults, rules'],
    [{ version: 1, rules: [], defaults: { transition: {} } }, '/defaults/transition', 'not a known property'],
    [
      { version: 1, rules: [], defaults: { connectionDescription: { maxLength: 5 } } },
      '/defaults/connectionDescription/maxLength',
      '>= 16',
    ],
    [{ version: 1, rules: [{ ...baseRule, name: 'has space' }] }, '/rules/0/name', 'pattern'],
    [{ version: 1, rules: [{ ...baseRule, decisions: [] }] }, '/rules/0/decisions', 'fewer than 1'],
    [
      { version: 1, rules: [baseRule, { ...baseRule, name: 'R' }] },
      '/rules/1/name',
      'repeats the name of /rules/0',
    ],
  ])('refuses %j', (document, at, message) => {
    const problems = problemsOfPolicy(document);
    const problem = problems.find((p) => p.pointer === at);
    expect(problem?.message).toContain(message);
  });

  it('refuses an oversized document without parsing it', () => {
    const problems = problemsOf(`version: 1\nrules: []\n# ${'x'.repeat(1024 * 1024)}\n`);
    expect(problems[0]?.message).toContain('larger than');
  });

  it('reports an unreadable file as a PolicyError naming it', () => {
    const error = loadError(`${FIXTURES}/does-not-exist.yaml`);
    expect(error.file).toBe(`${FIXTURES}/does-not-exist.yaml`);
    expect(error.problems[0]?.message).toContain('ENOENT');
  });

  it('reads YAML 1.2: times and "no" stay strings, so a schema catches type mistakes', () => {
    const text = [
      'version: 1',
      'rules:',
      '  - name: r',
      '    decisions: [Rejected]',
      '    targets: [{ subscription: "*", resourceGroup: "no", cluster: "*" }]',
      '    callers: [{ source: generic, ids: ["*"] }]',
      '    changeWindows: [{ timeZone: UTC, days: [Mon], start: 08:00, end: 18:00 }]',
    ].join('\n');
    const policy = parsePolicy(text, 'yaml12.yaml');
    expect(policy.rules[0]?.changeWindows?.[0]?.start).toBe(480);
  });

  it('refuses a %YAML 1.1 directive, which would turn merge keys on and "no" into false', () => {
    const rule = [
      '  - &base',
      '    name: a',
      '    decisions: [Rejected]',
      '    targets: [{ subscription: "*", resourceGroup: "*", cluster: "*" }]',
      '    callers: [{ source: generic, ids: ["*"] }]',
      '  - <<: *base',
      '    name: b',
    ];
    const text = ['%YAML 1.1', '---', 'version: 1', 'rules:', ...rule].join('\n');
    const error = (() => {
      try {
        parsePolicy(text, 'yaml11.yaml');
      } catch (caught) {
        return caught as PolicyError;
      }
      return undefined;
    })();
    expect(error?.problems.map((p) => p.message)).toContainEqual(expect.stringContaining('%YAML 1.1'));
    expect(() =>
      parsePolicy(['%YAML 1.2', '---', 'version: 1', 'rules: []'].join('\n'), 'y.yaml'),
    ).not.toThrow();
  });
});
