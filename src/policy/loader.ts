import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import type { Document } from 'yaml';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { compilePolicy } from './compile.js';
import type { PolicyProblem } from './policy-error.js';
import { pointer, PolicyError } from './policy-error.js';
import { validatePolicy } from '../generated/policy-validator.js';
import type { RawPolicy } from './schema.js';
import type { Policy } from './types.js';

/**
 * Reads a policy document: YAML 1.2 (duplicate keys and unknown tags are errors, since either can hide what a
 * reviewer thinks they approved), then the JSON Schema (Ajv, strict, all errors), then the checks a schema
 * cannot express. Every problem is reported at once, located by JSON pointer and line/column.
 */

const MAX_POLICY_BYTES = 1024 * 1024;

// validatePolicy is policySchema (./schema.ts) compiled at build time (build/generate-validators.mjs: Ajv
// standalone, strict, all errors, verbose), so loading a policy compiles nothing. It is only ever called
// synchronously, so its per-call `errors` cannot leak between documents.

function problemFromAjv(error: ErrorObject): PolicyProblem {
  const at = error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { pointer: pointer(at, String(params.missingProperty)), message: 'is required' };
    case 'additionalProperties': {
      const known = Object.keys((error.parentSchema?.properties as object | undefined) ?? {});
      return {
        pointer: pointer(at, String(params.additionalProperty)),
        message: `is not a known property here (check the spelling); known: ${known.join(', ')}`,
      };
    }
    case 'enum':
      return {
        pointer: at,
        message: `must be one of: ${(params.allowedValues as unknown[]).map(String).join(', ')}`,
      };
    case 'const':
      return { pointer: at, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'type':
      return at === ''
        ? { pointer: at, message: 'the policy must be a YAML mapping with at least "version" and "rules"' }
        : { pointer: at, message: error.message ?? 'has the wrong type' };
    default:
      return { pointer: at, message: error.message ?? 'is invalid' };
  }
}

function decodePointer(at: string): string[] {
  return at
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Finds the nearest YAML node for a pointer, walking up when it names something missing. */
function locate(doc: Document, lines: LineCounter, at: string): { line: number; column: number } | undefined {
  const path = decodePointer(at);
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return undefined;
}

/** Sorted by position so the list reads top to bottom alongside the file. */
function inDocumentOrder(problems: PolicyProblem[]): PolicyProblem[] {
  const rank = (problem: PolicyProblem): number =>
    problem.line === undefined ? -1 : problem.line * 100_000 + (problem.column ?? 0);
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => rank(a.problem) - rank(b.problem) || a.index - b.index)
    .map(({ problem }) => problem);
}

function dedupe(problems: PolicyProblem[]): PolicyProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.pointer}\u0000${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function parsePolicy(text: string, fileName: string): Policy {
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) {
    throw new PolicyError(fileName, [{ pointer: '', message: `is larger than ${MAX_POLICY_BYTES} bytes` }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: false,
    version: '1.2',
  });
  const yamlProblems = [...doc.errors, ...doc.warnings].map((issue) => {
    const { line, col } = lines.linePos(issue.pos[0]);
    return { pointer: '', message: `YAML: ${issue.message}`, line, column: col };
  });
  // A `%YAML 1.1` line would switch the reading back to 1.1: `no` a boolean, and merge keys letting one rule
  // silently take another's fields.
  const declared = doc.directives?.yaml;
  if (declared?.explicit === true && declared.version !== '1.2') {
    yamlProblems.push({
      pointer: '',
      message: `YAML: %YAML ${declared.version} is not accepted; the policy is read as YAML 1.2. Remove the directive.`,
      line: 1,
      column: 1,
    });
  }
  if (yamlProblems.length > 0) throw new PolicyError(fileName, inDocumentOrder(yamlProblems));

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    throw new PolicyError(fileName, [
      { pointer: '', message: `YAML: ${error instanceof Error ? error.message : String(error)}` },
    ]);
  }
  const where = (problem: PolicyProblem): PolicyProblem => ({
    ...problem,
    ...locate(doc, lines, problem.pointer),
  });

  if (!validatePolicy(value)) {
    const errors = validatePolicy.errors ?? [];
    throw new PolicyError(fileName, inDocumentOrder(dedupe(errors.map(problemFromAjv)).map(where)));
  }
  const problems: PolicyProblem[] = [];
  const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
  const policy = compilePolicy(value as RawPolicy, fileName, sha256, problems);
  if (problems.length > 0) throw new PolicyError(fileName, inDocumentOrder(dedupe(problems).map(where)));
  return policy;
}

/** Reads and parses the policy once, synchronously, at startup. Throws PolicyError for any problem. */
export function loadPolicy(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PolicyError(path, [
      { pointer: '', message: `cannot read the file (${code ?? String(error)})` },
    ]);
  }
  return parsePolicy(text, path);
}
