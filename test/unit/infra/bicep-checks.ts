import { lexBicep, lineOf, literalAt, literalsIn, matchingBracket, resourcesOf } from './bicep-lexer.js';
import type { BicepResource, LexedBicep } from './bicep-lexer.js';

/**
 * Pure checks over the text of infra/ (Bicep + parameter files). Each returns findings instead of throwing so
 * the tests can run them on the real templates (expect none) and on deliberately broken copies (expect the
 * exact finding), which is what proves a check can fail at all.
 */

export interface InfraFile {
  /** Repository-relative path, e.g. `infra/modules/function-app.bicep`. */
  path: string;
  text: string;
}

export type CheckName =
  'app-settings' | 'forbidden-settings' | 'custom-role' | 'role-ids' | 'secrets' | 'hardening' | 'parameters';

export interface Finding {
  check: CheckName;
  file: string;
  line?: number;
  message: string;
}

export interface AppSetting {
  name: string;
  file: string;
  line: number;
}

const bicepFiles = (files: readonly InfraFile[]): { file: InfraFile; lexed: LexedBicep }[] =>
  files.filter((f) => f.path.endsWith('.bicep')).map((file) => ({ file, lexed: lexBicep(file.text) }));

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Literals of a list whose brackets are at [open, close); `nonLiteral` is true if anything else is in it. */
function listLiterals(
  lexed: LexedBicep,
  open: number,
): { values: string[]; nonLiteral: boolean; end: number } {
  const end = matchingBracket(lexed.masked, open);
  const items = literalsIn(lexed, open + 1, end - 1);
  let rest = lexed.masked.slice(open + 1, end - 1);
  for (const item of items) {
    const from = item.start - open - 1;
    rest = rest.slice(0, from) + ' '.repeat(item.end - item.start) + rest.slice(from + item.end - item.start);
  }
  return { values: items.map((item) => item.value), nonLiteral: rest.replace(/[\s,]/g, '') !== '', end };
}

// ---------------------------------------------------------------------------------------------------------
// App settings

/**
 * Names of the Function App's application settings. Convention the templates follow (and this enforces by
 * only looking there): settings are `{ name: '…', value: … }` entries in a literal array, either directly in
 * `appSettings: [ … ]` or in a variable whose name ends in `AppSettings`.
 */
export function appSettingsOf(files: readonly InfraFile[]): AppSetting[] {
  const out: AppSetting[] = [];
  for (const { file, lexed } of bicepFiles(files)) {
    const opens = new Set<number>();
    for (const m of lexed.masked.matchAll(/\bappSettings\s*:\s*\[/g))
      opens.add((m.index ?? 0) + m[0].length - 1);
    for (const m of lexed.masked.matchAll(/(^|\n)[ \t]*var\s+\w*AppSettings\s*=/g)) {
      const open = lexed.masked.indexOf('[', (m.index ?? 0) + m[0].length);
      if (open !== -1) opens.add(open);
    }
    for (const open of opens) {
      const end = matchingBracket(lexed.masked, open);
      const block = lexed.masked.slice(open, end);
      for (const m of block.matchAll(/\bname\s*:\s*'/g)) {
        const quote = open + (m.index ?? 0) + m[0].length - 1;
        const literal = literalAt(lexed, quote);
        if (literal !== undefined)
          out.push({ name: literal.value, file: file.path, line: lineOf(file.text, quote) });
      }
    }
  }
  return out;
}

export interface AppSettingRules {
  /** Every configuration name the code reads. */
  readByCode: readonly string[];
  /** Names the code reads that the template deliberately does not set, with the reason. */
  optional: Readonly<Record<string, string>>;
  /** Names the template sets for the Functions platform (not read by our code), with the reason. */
  platform: Readonly<Record<string, string>>;
}

export function checkAppSettings(files: readonly InfraFile[], rules: AppSettingRules): Finding[] {
  const findings: Finding[] = [];
  const settings = appSettingsOf(files);
  const set = new Map<string, AppSetting>();
  for (const setting of settings) {
    const seen = set.get(setting.name);
    if (seen !== undefined) {
      findings.push({
        check: 'app-settings',
        file: setting.file,
        line: setting.line,
        message: `${setting.name} is set twice (also ${seen.file}:${seen.line}); the host keeps only one`,
      });
    }
    set.set(setting.name, setting);
  }
  const readByCode = new Set(rules.readByCode);
  for (const name of readByCode) {
    if (!set.has(name) && !(name in rules.optional)) {
      findings.push({
        check: 'app-settings',
        file: 'infra',
        message: `${name} is read by the code but not set in any appSettings and not listed as optional`,
      });
    }
  }
  for (const name of Object.keys(rules.optional)) {
    const setting = set.get(name);
    if (!readByCode.has(name)) {
      findings.push({
        check: 'app-settings',
        file: 'infra',
        message: `${name} is listed as optional but the code no longer reads it; drop it from the list`,
      });
    }
    if (setting !== undefined) {
      findings.push({
        check: 'app-settings',
        file: setting.file,
        line: setting.line,
        message: `${name} is listed as optional (not set) but the template sets it`,
      });
    }
  }
  for (const setting of set.values()) {
    if (!readByCode.has(setting.name) && !(setting.name in rules.platform)) {
      findings.push({
        check: 'app-settings',
        file: setting.file,
        line: setting.line,
        message: `${setting.name} is set but neither the code nor the Functions platform reads it (typo?)`,
      });
    }
  }
  return findings;
}

/** Settings that must never appear (Flex Consumption rejects them, or they carry keys). */
export function checkForbiddenSettings(
  files: readonly InfraFile[],
  forbidden: Readonly<Record<string, string>>,
): Finding[] {
  return appSettingsOf(files)
    .filter((setting) => setting.name in forbidden)
    .map((setting) => ({
      check: 'forbidden-settings' as const,
      file: setting.file,
      line: setting.line,
      message: `${setting.name} must not be set: ${forbidden[setting.name] ?? ''}`,
    }));
}

// ---------------------------------------------------------------------------------------------------------
// The custom role

export interface CustomRole {
  file: string;
  line: number;
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
  /** Lists that hold anything but string literals (variables, function calls) — not checkable, so refused. */
  nonLiteral: string[];
}

const isRoleDefinition = (r: BicepResource): boolean =>
  !r.existing && /^Microsoft\.Authorization\/roleDefinitions@/i.test(r.type);

/** Every action infra/providers.json lists (what main.bicep can grant); wildcards included, to be reported. */
export function providerActions(files: readonly InfraFile[]): string[] {
  const json = files.find((f) => f.path === 'infra/providers.json');
  if (json === undefined) return [];
  const parsed = JSON.parse(json.text) as Record<string, string[]>;
  return [...new Set(Object.values(parsed).flat())];
}

export function customRolesOf(files: readonly InfraFile[]): CustomRole[] {
  const out: CustomRole[] = [];
  for (const { file, lexed } of bicepFiles(files)) {
    for (const resource of resourcesOf(lexed).filter(isRoleDefinition)) {
      const role: CustomRole = {
        file: file.path,
        line: lineOf(file.text, resource.bodyStart),
        actions: [],
        notActions: [],
        dataActions: [],
        notDataActions: [],
        nonLiteral: [],
      };
      const body = lexed.masked.slice(resource.bodyStart, resource.bodyEnd);
      for (const key of ['actions', 'notActions', 'dataActions', 'notDataActions'] as const) {
        for (const m of body.matchAll(new RegExp(`\\b${key}\\s*:\\s*`, 'g'))) {
          const at = resource.bodyStart + (m.index ?? 0) + m[0].length;
          // The one allowed expression: actions taken from infra/providers.json (checked there).
          if (key === 'actions' && /^actions\b/.test(lexed.masked.slice(at, at + 8))) {
            role.actions.push(...providerActions(files));
            continue;
          }
          if (lexed.masked[at] !== '[') {
            role.nonLiteral.push(key);
            continue;
          }
          const list = listLiterals(lexed, at);
          role[key].push(...list.values);
          if (list.nonLiteral) role.nonLiteral.push(key);
        }
      }
      out.push(role);
    }
  }
  return out;
}

/** Exactly one custom role, whose actions are exactly `expectedActions`, and nothing else in it. */
export function checkCustomRole(files: readonly InfraFile[], expectedActions: readonly string[]): Finding[] {
  const roles = customRolesOf(files);
  if (roles.length !== 1) {
    return [
      {
        check: 'custom-role',
        file: 'infra',
        message: `expected exactly one role definition, found ${roles.length}`,
      },
    ];
  }
  const role = roles[0] as CustomRole;
  const at = { check: 'custom-role' as const, file: role.file, line: role.line };
  const findings: Finding[] = [];
  const expected = new Set(expectedActions.map((a) => a.toLowerCase()));
  const granted = role.actions.map((a) => a.toLowerCase());
  for (const key of role.nonLiteral) {
    findings.push({ ...at, message: `${key} must be a literal list of strings so it can be checked` });
  }
  for (const action of role.actions) {
    if (action.includes('*')) findings.push({ ...at, message: `wildcard action ${action}` });
    if (!expected.has(action.toLowerCase())) {
      findings.push({ ...at, message: `action ${action} is not an operation the ARM client performs` });
    }
  }
  for (const action of expectedActions) {
    if (!granted.includes(action.toLowerCase())) {
      findings.push({ ...at, message: `action ${action} is performed by the ARM client but not granted` });
    }
  }
  if (new Set(granted).size !== granted.length) findings.push({ ...at, message: 'duplicate actions' });
  for (const key of ['notActions', 'dataActions', 'notDataActions'] as const) {
    if (role[key].length > 0)
      findings.push({ ...at, message: `${key} must be empty, has ${role[key].join(', ')}` });
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------------------
// Built-in role ids

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every GUID literal in the templates is a role definition id; each must be on the allow-list. */
export function checkRoleIds(
  files: readonly InfraFile[],
  allowed: Readonly<Record<string, string>>,
  knownBroad: Readonly<Record<string, string>>,
): Finding[] {
  const findings: Finding[] = [];
  const allow = new Set(Object.keys(allowed).map((id) => id.toLowerCase()));
  for (const { file, lexed } of bicepFiles(files)) {
    for (const literal of lexed.literals) {
      if (!GUID.test(literal.value) || allow.has(literal.value.toLowerCase())) continue;
      const broad = Object.entries(knownBroad).find(
        ([id]) => id.toLowerCase() === literal.value.toLowerCase(),
      );
      findings.push({
        check: 'role-ids',
        file: file.path,
        line: lineOf(file.text, literal.start),
        message: broad
          ? `role ${literal.value} (${broad[1]}) is far broader than the approver needs`
          : `role id ${literal.value} is not on the allow-list of roles the approver may hold`,
      });
    }
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------------------
// Secrets

const SECRET_MARKERS: readonly [RegExp, string][] = [
  [/AccountKey=/i, 'a storage account key'],
  [/SharedAccessKey=/i, 'a shared access key'],
  [/SharedAccessSignature=|[?&]sig=[A-Za-z0-9%+/=]{16,}/i, 'a SAS token'],
  [/DefaultEndpointsProtocol=/i, 'a storage connection string'],
  [/InstrumentationKey=/i, 'an Application Insights key-based connection string'],
  [/(^|;)\s*Password=/i, 'a password'],
  [/client_secret/i, 'a client secret'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/, 'a Slack token'],
];

/** Shannon entropy in bits per character. */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / s.length) * Math.log2(n / s.length);
  return bits;
}

/** Why `value` looks like a secret, or undefined. */
export function secretLikeness(value: string): string | undefined {
  for (const [pattern, what] of SECRET_MARKERS) if (pattern.test(value)) return `looks like ${what}`;
  for (const token of value.match(/[A-Za-z0-9+/=_-]{32,}/g) ?? []) {
    if (GUID.test(token)) continue;
    if (/^[0-9a-f]+$/i.test(token) && token.length >= 32) return 'looks like a hex key';
    const mixed = /[0-9]/.test(token) && /[a-z]/.test(token) && /[A-Z]/.test(token);
    if (mixed && entropy(token) >= 4.5) return 'looks like a base64 key';
  }
  return undefined;
}

/** Calls that return keys or secret values (listKeys, listSecrets, listAccountSas, …, getSecret). */
const SECRET_CALLS = /(?:\.|\b)(list[A-Za-z]*|getSecret)\s*\(/g;

function outputsOf(
  lexed: LexedBicep,
): { name: string; type: string; decorators: string; valueStart: number }[] {
  const out: { name: string; type: string; decorators: string; valueStart: number }[] = [];
  for (const m of lexed.masked.matchAll(/((?:^|\n)(?:[ \t]*@[^\n]*\n)*)[ \t]*output\s+(\w+)\s+(\w+)/g)) {
    out.push({
      decorators: m[1] ?? '',
      name: m[2] ?? '',
      type: m[3] ?? '',
      valueStart: (m.index ?? 0) + m[0].length,
    });
  }
  return out;
}

export function checkNoSecrets(files: readonly InfraFile[]): Finding[] {
  const findings: Finding[] = [];
  for (const { file, lexed } of bicepFiles(files)) {
    const at = (offset: number): { check: 'secrets'; file: string; line: number } => ({
      check: 'secrets',
      file: file.path,
      line: lineOf(file.text, offset),
    });
    for (const m of lexed.masked.matchAll(SECRET_CALLS)) {
      findings.push({ ...at(m.index ?? 0), message: `${m[1] ?? ''}() returns keys or secret values` });
    }
    for (const output of outputsOf(lexed)) {
      const where = at(output.valueStart);
      if (/@secure\s*\(/.test(output.decorators)) {
        findings.push({
          ...where,
          message: `output ${output.name} is @secure(): outputs must carry no secrets`,
        });
      }
      if (/^secure(string|object)$/i.test(output.type)) {
        findings.push({ ...where, message: `output ${output.name} has type ${output.type}` });
      }
      if (
        /password|secret|connection_?string|accountkey|sas_?token|apikey|instrumentationkey/i.test(
          output.name,
        )
      ) {
        findings.push({ ...where, message: `output ${output.name} is named like a secret` });
      }
      // The value runs until the next statement (a line starting in column 0 with anything but a closer).
      const next = /\n(?=[^\s)\]}])/g;
      next.lastIndex = output.valueStart;
      const stop = next.exec(lexed.masked);
      const value = lexed.masked.slice(output.valueStart, stop === null ? undefined : stop.index);
      if (
        /ConnectionString|InstrumentationKey|primaryKey|secondaryKey|\blist[A-Za-z]*\s*\(|getSecret\s*\(/i.test(
          value,
        )
      ) {
        findings.push({ ...where, message: `output ${output.name} exposes a connection string or key` });
      }
    }
    for (const resource of resourcesOf(lexed)) {
      if (resource.existing || !/^Microsoft\.KeyVault\/vaults\/secrets@/i.test(resource.type)) continue;
      const body = lexed.masked.slice(resource.bodyStart, resource.bodyEnd);
      if (/\bvalue\s*:/.test(body)) {
        findings.push({
          ...at(resource.bodyStart),
          message: `Key Vault secret ${resource.symbol} has a value in the template; the operator sets secrets`,
        });
      }
    }
    for (const m of lexed.masked.matchAll(/@secure\s*\(\s*\)\s*param\s+(\w+)\s+\w+\s*=/g)) {
      findings.push({ ...at(m.index ?? 0), message: `secure parameter ${m[1] ?? ''} has a default value` });
    }
    for (const literal of lexed.literals) {
      const why = secretLikeness(literal.value);
      if (why !== undefined) findings.push({ ...at(literal.start), message: `string literal ${why}` });
    }
  }
  for (const file of files.filter((f) => f.path.endsWith('.json'))) {
    const walk = (node: unknown, path: string): void => {
      if (typeof node === 'string') {
        const why = secretLikeness(node);
        if (why !== undefined)
          findings.push({ check: 'secrets', file: file.path, message: `${path} ${why}` });
      } else if (Array.isArray(node)) node.forEach((item, i) => walk(item, `${path}[${i}]`));
      else if (node !== null && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) walk(value, `${path}.${key}`);
      }
    };
    walk(JSON.parse(file.text) as unknown, '$');
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------------------
// Hardening

export interface HardeningRule {
  /** Resource type prefix, without the api version, e.g. `Microsoft.Storage/storageAccounts`. */
  type: string;
  /** `property: value` exactly as it must appear in the resource body (value in Bicep syntax). */
  property: string;
  value: string;
  why: string;
}

/** Each rule's resource type exists (not as `existing`) and every such resource has the property set so. */
export function checkHardening(files: readonly InfraFile[], rules: readonly HardeningRule[]): Finding[] {
  const findings: Finding[] = [];
  const lexedFiles = bicepFiles(files);
  for (const rule of rules) {
    const typeRe = new RegExp(`^${escapeRegExp(rule.type)}@`, 'i');
    const propertyRe = new RegExp(
      `(^|[\\s{,])${escapeRegExp(rule.property)}\\s*:\\s*${escapeRegExp(rule.value)}(?![\\w'])`,
    );
    let found = 0;
    for (const { file, lexed } of lexedFiles) {
      for (const resource of resourcesOf(lexed)) {
        if (resource.existing || !typeRe.test(resource.type)) continue;
        found += 1;
        if (!propertyRe.test(lexed.commentless.slice(resource.bodyStart, resource.bodyEnd))) {
          findings.push({
            check: 'hardening',
            file: file.path,
            line: lineOf(file.text, resource.bodyStart),
            message: `${resource.symbol} (${rule.type}) must set ${rule.property}: ${rule.value} — ${rule.why}`,
          });
        }
      }
    }
    if (found === 0) {
      findings.push({
        check: 'hardening',
        file: 'infra',
        message: `no ${rule.type} resource declares ${rule.property}: ${rule.value} — ${rule.why}`,
      });
    }
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------------------
// Parameter file ↔ template

export function paramsOf(bicep: string): { name: string; hasDefault: boolean }[] {
  const lexed = lexBicep(bicep);
  const out: { name: string; hasDefault: boolean }[] = [];
  for (const m of lexed.masked.matchAll(/(^|\n)[ \t]*param\s+(\w+)\s+/g)) {
    const lineEnd = lexed.masked.indexOf('\n', (m.index ?? 0) + m[0].length);
    const rest = lexed.masked.slice((m.index ?? 0) + m[0].length, lineEnd === -1 ? undefined : lineEnd);
    out.push({ name: m[2] ?? '', hasDefault: /=/.test(rest) });
  }
  return out;
}

/** Every parameter in the parameters file exists in the template; every required template parameter is given. */
export function checkParameterFile(template: InfraFile, parameterFile: InfraFile): Finding[] {
  const declared = paramsOf(template.text);
  const parsed = JSON.parse(parameterFile.text) as { parameters?: Record<string, unknown> };
  const given = Object.keys(parsed.parameters ?? {});
  const findings: Finding[] = [];
  for (const name of given) {
    if (!declared.some((p) => p.name === name)) {
      findings.push({
        check: 'parameters',
        file: parameterFile.path,
        message: `${name} is not a parameter of ${template.path}`,
      });
    }
  }
  for (const param of declared) {
    if (!param.hasDefault && !given.includes(param.name)) {
      findings.push({
        check: 'parameters',
        file: parameterFile.path,
        message: `${param.name} is required by ${template.path} but not given`,
      });
    }
  }
  return findings;
}
