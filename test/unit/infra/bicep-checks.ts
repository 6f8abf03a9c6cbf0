import { posix } from 'node:path';
import {
  lexBicep,
  lineOf,
  literalAt,
  literalsIn,
  matchingBracket,
  modulesOf,
  resourcesOf,
  varExpression,
} from './bicep-lexer.js';
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
  | 'app-settings'
  | 'forbidden-settings'
  | 'custom-role'
  | 'discovery-role'
  | 'discovery-scopes'
  | 'role-ids'
  | 'secrets'
  | 'hardening'
  | 'parameters'
  | 'deployment-identity'
  | 'role-definitions'
  | 'deployer-role';

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
  /** `actions: <name>`: the list comes from a parameter or variable, which the caller must account for. */
  actionsFrom?: string;
}

const isRoleDefinition = (r: BicepResource): boolean =>
  !r.existing && /^Microsoft\.Authorization\/roleDefinitions@/i.test(r.type);

export const PROVIDERS_JSON_PATH = 'infra/providers.json';
export const DISCOVERY_JSON_PATH = 'infra/discovery-actions.json';

/** A generated file of actions per type (infra/providers.json, infra/discovery-actions.json). */
export function actionsByType(files: readonly InfraFile[], path: string): Record<string, string[]> {
  const json = files.find((f) => f.path === path);
  return json === undefined ? {} : (JSON.parse(json.text) as Record<string, string[]>);
}

/** Every action infra/providers.json lists (what main.bicep can grant); wildcards included, to be reported. */
export function providerActions(files: readonly InfraFile[]): string[] {
  return [...new Set(Object.values(actionsByType(files, PROVIDERS_JSON_PATH)).flat())];
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
          // A name (a module parameter, a variable) is recorded; the check that owns the role resolves it.
          const name =
            key === 'actions' ? /^(\w+)\s*(?:\n|$)/.exec(body.slice(at - resource.bodyStart)) : null;
          if (name !== null) {
            role.actionsFrom = name[1];
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

/**
 * Exactly one approver role, whose actions are exactly `expectedActions`, and nothing else in it. Its actions are
 * literals or the module parameter `actions`, which main.bicep fills from infra/providers.json.
 * Role definitions in `otherRoleFiles` belong to another check (the discovery reader).
 */
export function checkCustomRole(
  files: readonly InfraFile[],
  expectedActions: readonly string[],
  otherRoleFiles: readonly string[] = [],
): Finding[] {
  const roles = customRolesOf(files).filter((role) => !otherRoleFiles.includes(role.file));
  if (roles.length !== 1) {
    return [
      {
        check: 'custom-role',
        file: 'infra',
        message: `expected exactly one role definition, found ${roles.length}`,
      },
    ];
  }
  const found = roles[0] as CustomRole;
  const role = {
    ...found,
    actions: [...found.actions, ...(found.actionsFrom === 'actions' ? providerActions(files) : [])],
    nonLiteral: [
      ...found.nonLiteral,
      ...(found.actionsFrom !== undefined && found.actionsFrom !== 'actions' ? ['actions'] : []),
    ],
  };
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
// The discovery reader

export const DISCOVERY = {
  main: 'infra/main.bicep',
  managementGroup: 'infra/discovery-management-group.bicep',
  roleModule: 'infra/modules/discovery-role.bicep',
  /** The role module's path as main.bicep names it. */
  roleModuleRef: 'modules/discovery-role.bicep',
  assignModuleRef: 'modules/assign-subscription.bicep',
} as const;

/** Where discovery reader definitions live, and which name each takes its actions from. */
const DISCOVERY_ROLE_SOURCES: readonly (readonly [string, string])[] = [
  [DISCOVERY.roleModule, 'actions'],
  [DISCOVERY.managementGroup, 'discoveryActions'],
];

/** Files whose role definition is the discovery reader; checkCustomRole leaves them to checkDiscoveryRole. */
export const DISCOVERY_ROLE_FILES: readonly string[] = DISCOVERY_ROLE_SOURCES.map(([path]) => path);

export interface DiscoveryRules {
  /** Held whatever the types: the Resource Graph query. */
  fixed: readonly string[];
  /** Per registry type, exactly the reads a scan of that type makes. */
  byType: Readonly<Record<string, readonly string[]>>;
}

const squash = (s: string): string => s.replace(/\s+/g, '');

/**
 * How both templates pick the enabled types (whitespace removed). `enabledTypesFor` mirrors exactly this, so a
 * template written any other way is reported instead of being guessed at.
 */
const ENABLED_TYPES_FORM =
  "trim(enabledResourceTypes)=='*'?map(items(providerActions),p=>p.key):filter(map(split(enabledResourceTypes,','),t=>trim(t)),t=>!empty(t))";

/** What ENABLED_TYPES_FORM yields for a value of enabledResourceTypes. */
export function enabledTypesFor(value: string, allTypes: readonly string[]): string[] {
  if (value.trim() === '*') return [...allTypes];
  return value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/**
 * The discovery reader's actions as `template` would compute them for one value of enabledResourceTypes:
 * `union([<literal actions>], flatten(map(enabledTypes, t => discoveryReads[t])))`, with the types picked from
 * infra/providers.json and the reads taken from infra/discovery-actions.json. Any other shape is a finding:
 * it is the only form whose outcome can be known here.
 */
export function discoveryActionsFor(
  files: readonly InfraFile[],
  template: string,
  enabledResourceTypes: string,
): { actions: string[]; findings: Finding[] } {
  const file = files.find((f) => f.path === template);
  const findings: Finding[] = [];
  const report = (message: string, offset?: number): void => {
    const line = file === undefined || offset === undefined ? {} : { line: lineOf(file.text, offset) };
    findings.push({ check: 'discovery-role', file: template, ...line, message });
  };
  if (file === undefined) {
    report('is missing');
    return { actions: [], findings };
  }
  const lexed = lexBicep(file.text);
  const source = (name: string): { start: number; code: string; masked: string } | undefined => {
    const found = varExpression(lexed, name);
    if (found === undefined) return undefined;
    const code = lexed.commentless.slice(found.start, found.start + found.masked.length);
    return { ...found, code: squash(code) };
  };
  // Follows what the template really loads, so that loading the wrong file shows as the actions it grants too.
  const loaded = (name: string, expected: string): string => {
    const load = source(name);
    const argument = load && /^loadJsonContent\('([^']+)'\)$/.exec(load.code);
    const path = argument ? posix.join(posix.dirname(template), argument[1] ?? '') : '';
    if (path !== expected) report(`var ${name} must be loadJsonContent of ${expected}`, load?.start);
    return path;
  };
  const typesFrom = loaded('providerActions', PROVIDERS_JSON_PATH);
  const readsFrom = loaded('discoveryReads', DISCOVERY_JSON_PATH);
  const types = source('enabledTypes');
  if (types?.code !== ENABLED_TYPES_FORM) {
    report('var enabledTypes is not the expression main.bicep uses to pick the enabled types', types?.start);
  }
  const expression = source('discoveryActions');
  const form =
    expression &&
    /^union\(\[[^\]]*\],flatten\(map\(enabledTypes,(\w+)=>discoveryReads\[\1\]\)\)\)$/.exec(
      squash(expression.masked),
    );
  if (!expression || !form) {
    report(
      'var discoveryActions must be union([<actions>], flatten(map(enabledTypes, t => discoveryReads[t])))',
      expression?.start,
    );
    return { actions: [], findings };
  }
  const fixed = listLiterals(lexed, expression.start + expression.masked.indexOf('['));
  if (fixed.nonLiteral)
    report('the fixed actions of discoveryActions must be string literals', expression.start);
  const reads = actionsByType(files, readsFrom);
  // Resource Manager looks object properties up case-insensitively; so does this.
  const byLowerType = new Map(Object.entries(reads).map(([type, list]) => [type.toLowerCase(), list]));
  const allTypes = Object.keys(actionsByType(files, typesFrom));
  const perType = enabledTypesFor(enabledResourceTypes, allTypes).flatMap((type) => {
    const list = byLowerType.get(type.toLowerCase());
    if (list === undefined) report(`type ${type} is not in ${readsFrom} (the deployment fails)`);
    return list ?? [];
  });
  return { actions: [...new Set([...fixed.values, ...perType])], findings };
}

/**
 * The discovery reader reads, and reads exactly what a scan needs: infra/discovery-actions.json lists per type
 * what the registry says; both templates grant the fixed actions plus those lists for the enabled types; each
 * definition takes that list and nothing else.
 */
export function checkDiscoveryRole(files: readonly InfraFile[], rules: DiscoveryRules): Finding[] {
  const findings: Finding[] = [];
  const lists = actionsByType(files, DISCOVERY_JSON_PATH);
  const atJson = { check: 'discovery-role' as const, file: DISCOVERY_JSON_PATH };
  for (const [type, reads] of Object.entries(rules.byType)) {
    const listed = lists[type];
    if (listed === undefined) {
      findings.push({ ...atJson, message: `${type} is missing` });
      continue;
    }
    for (const action of listed.filter((a) => !reads.includes(a)))
      findings.push({ ...atJson, message: `${type} lists ${action}, which a scan of it does not make` });
    for (const action of reads.filter((a) => !listed.includes(a)))
      findings.push({ ...atJson, message: `${type} lacks ${action}, which a scan of it makes` });
  }
  for (const type of Object.keys(lists).filter((t) => !(t in rules.byType)))
    findings.push({ ...atJson, message: `${type} is not a type of the registry` });

  // Every type at once: what any choice of enabledResourceTypes can grant is part of this.
  const needed = new Set([...rules.fixed, ...Object.values(rules.byType).flat()]);
  for (const template of [DISCOVERY.main, DISCOVERY.managementGroup]) {
    const evaluated = discoveryActionsFor(files, template, '*');
    findings.push(...evaluated.findings);
    const at = { check: 'discovery-role' as const, file: template };
    for (const action of evaluated.actions) {
      if (action.includes('*')) findings.push({ ...at, message: `wildcard action ${action}` });
      else if (!/\/read$/i.test(action))
        findings.push({
          ...at,
          message: `${action} is not a read; the discovery reader must not change anything`,
        });
      if (!needed.has(action)) findings.push({ ...at, message: `action ${action} is not one a scan needs` });
    }
    if (evaluated.actions.length > 0) {
      for (const action of [...needed].filter((a) => !evaluated.actions.includes(a)))
        findings.push({ ...at, message: `action ${action} is needed by a scan but not granted` });
    }
  }

  const roles = customRolesOf(files);
  for (const [path, from] of DISCOVERY_ROLE_SOURCES) {
    const here = roles.filter((role) => role.file === path);
    if (here.length !== 1) {
      findings.push({
        check: 'discovery-role',
        file: path,
        message: `expected exactly one role definition, found ${here.length}`,
      });
      continue;
    }
    const role = here[0] as CustomRole;
    const at = { check: 'discovery-role' as const, file: path, line: role.line };
    if (role.actions.length > 0 || role.actionsFrom !== from)
      findings.push({ ...at, message: `actions must be exactly ${from}, the list checked above` });
    for (const key of role.nonLiteral)
      findings.push({ ...at, message: `${key} must be a literal list of strings so it can be checked` });
    for (const key of ['notActions', 'dataActions', 'notDataActions'] as const) {
      if (role[key].length > 0)
        findings.push({ ...at, message: `${key} must be empty, has ${role[key].join(', ')}` });
    }
  }
  const main = files.find((f) => f.path === DISCOVERY.main);
  if (main !== undefined) {
    const lexed = lexBicep(main.text);
    const module = modulesOf(lexed).find((m) => m.path === DISCOVERY.roleModuleRef);
    const body = module === undefined ? '' : lexed.masked.slice(module.bodyStart, module.bodyEnd);
    if (!/(^|\s)actions\s*:\s*discoveryActions\s*\n/.test(body)) {
      findings.push({
        check: 'discovery-role',
        file: DISCOVERY.main,
        message: `${DISCOVERY.roleModuleRef} must be deployed with actions: discoveryActions`,
      });
    }
  }
  return findings;
}

/** Parameters an expression depends on, following variables: the names the template declares as `param`. */
function parametersFeeding(lexed: LexedBicep, variable: string): string[] {
  const params = new Set([...lexed.masked.matchAll(/(^|\n)[ \t]*param\s+(\w+)/g)].map((m) => m[2] ?? ''));
  const found = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const expression = varExpression(lexed, name);
    for (const [identifier] of (expression?.masked ?? '').matchAll(/\b[A-Za-z_]\w*\b/g)) {
      if (params.has(identifier)) found.add(identifier);
      else visit(identifier);
    }
  };
  visit(variable);
  return [...found].sort();
}

/**
 * The discovery reader is assigned only where the scan looks: in main.bicep, at each subscription of
 * discoveryScopes (assign-subscription.bicep, nothing else uses the role), assignable there; in the
 * management-group template, at the group it is deployed to and assignable nowhere else.
 */
export function checkDiscoveryScopes(files: readonly InfraFile[]): Finding[] {
  const findings: Finding[] = [];
  const main = files.find((f) => f.path === DISCOVERY.main);
  if (main !== undefined) {
    const lexed = lexBicep(main.text);
    const report = (message: string, offset?: number): void => {
      const line = offset === undefined ? {} : { line: lineOf(main.text, offset) };
      findings.push({ check: 'discovery-scopes', file: main.path, ...line, message });
    };
    const body = (range: { bodyStart: number; bodyEnd: number }): string =>
      lexed.masked.slice(range.bodyStart, range.bodyEnd);
    const modules = modulesOf(lexed);
    const role = modules.find((m) => m.path === DISCOVERY.roleModuleRef);
    if (role === undefined) report(`does not deploy ${DISCOVERY.roleModuleRef}`);
    else {
      if (!/\bassignableScopes\s*:[^\n]*\bdiscoverySubscriptions\b/.test(body(role)))
        report(
          'the discovery role must be assignable in every subscription of discoverySubscriptions',
          role.bodyStart,
        );
      const uses = new RegExp(`\\b${role.symbol}!?\\.outputs\\b`);
      const assigning = modules.filter((m) => m !== role && uses.test(body(m)));
      if (assigning.length === 0) report('the discovery role is never assigned');
      for (const m of assigning) {
        const loop = /^\[\s*for\s*(?:\(\s*(\w+)\s*,\s*\w+\s*\)|(\w+))\s+in\s+(\w+)\s*:$/.exec(m.head);
        const item = loop?.[1] ?? loop?.[2] ?? '';
        const atEach = new RegExp(`(^|\\s)scope\\s*:\\s*subscription\\(\\s*${item}\\s*\\)`).test(body(m));
        if (m.path !== DISCOVERY.assignModuleRef || loop?.[3] !== 'discoverySubscriptions' || !atEach) {
          report(
            `module ${m.symbol} assigns the discovery role other than at each subscription of discoverySubscriptions`,
            m.bodyStart,
          );
        }
      }
      for (const resource of resourcesOf(lexed).filter((r) => uses.test(body(r))))
        report(
          `resource ${resource.symbol} uses the discovery role outside its subscription assignments`,
          resource.bodyStart,
        );
    }
    const fed = parametersFeeding(lexed, 'discoverySubscriptions');
    if (fed.join(',') !== 'discoveryScopes') {
      report(
        `discoverySubscriptions comes from ${fed.join(', ') || 'no parameter'}, not from discoveryScopes alone`,
      );
    }
  }

  const group = files.find((f) => f.path === DISCOVERY.managementGroup);
  if (group === undefined) {
    findings.push({ check: 'discovery-scopes', file: DISCOVERY.managementGroup, message: 'is missing' });
    return findings;
  }
  const lexed = lexBicep(group.text);
  const report = (message: string, offset?: number): void => {
    const line = offset === undefined ? {} : { line: lineOf(group.text, offset) };
    findings.push({ check: 'discovery-scopes', file: group.path, ...line, message });
  };
  if (!/(^|\n)targetScope\s*=\s*'managementGroup'/.test(lexed.commentless))
    report("targetScope must be 'managementGroup'");
  const resources = resourcesOf(lexed).filter((r) => !r.existing);
  const definitions = resources.filter(isRoleDefinition);
  for (const definition of definitions) {
    const text = lexed.commentless.slice(definition.bodyStart, definition.bodyEnd);
    const scopes = /\bassignableScopes\s*:\s*(\[[^\]]*\])/.exec(text);
    if (squash(scopes?.[1] ?? '') !== '[managementGroup().id]')
      report(`${definition.symbol} must be assignable at managementGroup().id only`, definition.bodyStart);
  }
  const symbols = definitions.map((d) => d.symbol);
  for (const assignment of resources.filter((r) =>
    /^Microsoft\.Authorization\/roleAssignments@/i.test(r.type),
  )) {
    const text = lexed.masked.slice(assignment.bodyStart, assignment.bodyEnd);
    if (/(^|\s)scope\s*:/.test(text))
      report(
        `${assignment.symbol} sets a scope; it must land at the management group deployed to`,
        assignment.bodyStart,
      );
    const definition = /\broleDefinitionId\s*:\s*(\w+)\.id\s*\n/.exec(text);
    if (definition === null || !symbols.includes(definition[1] ?? ''))
      report(`${assignment.symbol} must assign the discovery role defined here`, assignment.bodyStart);
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

// ---------------------------------------------------------------------------------------------------------
// What the deployer needs: every action the templates make Resource Manager perform, per kind of scope

/** `deployment`: the deployment subscription and its resource group; `target`: target and discovery scopes. */
export type DeployerScope = 'deployment' | 'target';

export interface DeployerNeed {
  action: string;
  scope: DeployerScope;
  /** The template and what in it needs the action, for messages. */
  file: string;
  why: string;
}

const NAMESPACES_ALWAYS_REGISTERED = new Set(['microsoft.resources', 'microsoft.authorization']);

/** Resource types whose RBAC operations sit under another path than the template's type. */
const RBAC_PATH_OF_TYPE: Readonly<Record<string, string>> = {
  'microsoft.resources/resourcegroups': 'Microsoft.Resources/subscriptions/resourceGroups',
};

/**
 * Follows a template and the modules it deploys, and lists what each needs from the deploying principal: a
 * nested deployment per module at the scope it lands at, `{type}/write` and `{type}/read` for a resource it
 * declares, `{type}/read` for an `existing` one, `assign/action` on a user-assigned identity a resource attaches,
 * and, in the deployment subscription, `{Namespace}/register/action` so that Resource Manager can register a
 * provider an empty subscription has never used. A module with `scope: rg` (or none) stays where its parent is;
 * any other scope (subscription(…), resourceGroup(…)) is a target.
 */
export function deployerNeeds(files: readonly InfraFile[], entry: string): DeployerNeed[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const out: DeployerNeed[] = [];
  const visit = (path: string, scope: DeployerScope, seen: readonly string[]): void => {
    const file = byPath.get(path);
    // A module that cannot be followed would leave its needs out silently: fail instead.
    if (file === undefined) throw new Error(`${seen.at(-1) ?? entry} deploys ${path}, which is not there`);
    if (seen.includes(path)) return;
    const lexed = lexBicep(file.text);
    for (const resource of resourcesOf(lexed)) {
      const declared = resource.type.split('@')[0] ?? '';
      const type = RBAC_PATH_OF_TYPE[declared.toLowerCase()] ?? declared;
      const need = (action: string, why: string): number => out.push({ action, scope, file: path, why });
      need(`${type}/read`, `${resource.symbol} (${resource.existing ? 'existing' : 'declared'})`);
      if (resource.existing) continue;
      need(`${type}/write`, `${resource.symbol} (declared)`);
      const namespace = type.split('/')[0] ?? '';
      if (scope === 'deployment' && !NAMESPACES_ALWAYS_REGISTERED.has(namespace.toLowerCase()))
        need(`${namespace}/register/action`, `${resource.symbol}: ${namespace} may be unregistered`);
      if (/\buserAssignedIdentities\s*:/.test(lexed.masked.slice(resource.bodyStart, resource.bodyEnd)))
        need(
          'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
          `${resource.symbol} attaches one`,
        );
    }
    for (const module of modulesOf(lexed)) {
      const body = lexed.masked.slice(module.bodyStart, module.bodyEnd);
      const at = /(^|\s)scope\s*:\s*(\w+)/.exec(body)?.[2];
      const child: DeployerScope = at === undefined || at === 'rg' ? scope : 'target';
      out.push({
        action: 'Microsoft.Resources/deployments/write',
        scope: child,
        file: path,
        why: `module ${module.symbol}`,
      });
      visit(posix.join(posix.dirname(path), module.path), child, [...seen, path]);
    }
  };
  out.push({
    action: 'Microsoft.Resources/deployments/write',
    scope: 'deployment',
    file: entry,
    why: 'itself',
  });
  visit(entry, 'deployment', []);
  return out;
}

export interface DeployerRoleRules {
  /** The role file (infra/deployer-role.json, infra/deployer-target-role.json). */
  path: string;
  scope: DeployerScope;
  /** Templates deployed with this role's rights (main.bicep, role-definitions.bicep). */
  entries: readonly string[];
  /** Needed for reasons the templates' text does not show (azd itself, assignable scopes), with the reason. */
  alsoNeeded: Readonly<Record<string, string>>;
  /** Held though no template needs it, with the reason. */
  extras: Readonly<Record<string, string>>;
}

/** The role holds every action the templates need at its scope, nothing unexplained, and no wildcard. */
export function checkDeployerRole(files: readonly InfraFile[], rules: DeployerRoleRules): Finding[] {
  const at = { check: 'deployer-role' as const, file: rules.path };
  const file = files.find((f) => f.path === rules.path);
  if (file === undefined) return [{ ...at, message: 'is missing' }];
  const role = JSON.parse(file.text) as Record<string, unknown>;
  const actions = Array.isArray(role.Actions) ? (role.Actions as string[]) : [];
  const findings: Finding[] = [];
  const held = new Set(actions.map((a) => a.toLowerCase()));
  const needs = rules.entries
    .flatMap((entry) => deployerNeeds(files, entry))
    .filter((n) => n.scope === rules.scope);
  const needed = new Map<string, DeployerNeed>();
  for (const need of needs)
    if (!needed.has(need.action.toLowerCase())) needed.set(need.action.toLowerCase(), need);
  for (const [action, why] of Object.entries(rules.alsoNeeded))
    if (!needed.has(action.toLowerCase()))
      needed.set(action.toLowerCase(), { action, scope: rules.scope, file: rules.path, why });
  for (const need of needed.values())
    if (!held.has(need.action.toLowerCase()))
      findings.push({ ...at, message: `lacks ${need.action}, needed by ${need.file}: ${need.why}` });
  const explained = new Set(Object.keys(rules.extras).map((a) => a.toLowerCase()));
  for (const action of actions) {
    if (action.includes('*')) findings.push({ ...at, message: `wildcard action ${action}` });
    else if (!needed.has(action.toLowerCase()) && !explained.has(action.toLowerCase()))
      findings.push({
        ...at,
        message: `holds ${action}, which nothing deployed needs and no reason explains`,
      });
  }
  if (held.size !== actions.length) findings.push({ ...at, message: 'duplicate actions' });
  for (const key of ['NotActions', 'DataActions', 'NotDataActions']) {
    const value = role[key];
    if (!Array.isArray(value) || value.length > 0) findings.push({ ...at, message: `${key} must be []` });
  }
  if (role.IsCustom !== true || !Array.isArray(role.AssignableScopes))
    findings.push({
      ...at,
      message: 'must be an `az role definition create` document (IsCustom, AssignableScopes)',
    });
  return findings;
}

// ---------------------------------------------------------------------------------------------------------
// The package identity: created and granted before the site, and used for the deployment container only

export const DEPLOYMENT_IDENTITY = {
  main: 'infra/main.bicep',
  module: 'infra/modules/deployment-identity.bicep',
  moduleRef: 'modules/deployment-identity.bicep',
  functionApp: 'infra/modules/function-app.bicep',
  functionAppRef: 'modules/function-app.bicep',
} as const;

/**
 * The site authenticates to the deployment container with the user-assigned identity of
 * modules/deployment-identity.bicep, whatever the app's own identity; that module grants it on the container
 * itself (no wider) to the identity it declares; main.bicep hands the identity to the site module from that
 * module's outputs, so the identity and its grant exist before the site; and the app's credential
 * (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId) never names it.
 */
export function checkDeploymentIdentity(files: readonly InfraFile[], blobRoleId: string): Finding[] {
  const findings: Finding[] = [];
  const get = (path: string): { file: InfraFile; lexed: LexedBicep } | undefined => {
    const file = files.find((f) => f.path === path);
    if (file === undefined)
      findings.push({ check: 'deployment-identity', file: path, message: 'is missing' });
    return file === undefined ? undefined : { file, lexed: lexBicep(file.text) };
  };
  const report = (path: string, message: string): number =>
    findings.push({ check: 'deployment-identity', file: path, message });
  const module = get(DEPLOYMENT_IDENTITY.module);
  const site = get(DEPLOYMENT_IDENTITY.functionApp);
  const main = get(DEPLOYMENT_IDENTITY.main);
  if (module !== undefined) {
    const { lexed } = module;
    const resources = resourcesOf(lexed);
    const identity = resources.find(
      (r) => !r.existing && r.type.startsWith('Microsoft.ManagedIdentity/userAssignedIdentities@'),
    );
    const container = resources.find((r) =>
      r.type.startsWith('Microsoft.Storage/storageAccounts/blobServices/containers@'),
    );
    const grants = resources.filter((r) => r.type.startsWith('Microsoft.Authorization/roleAssignments@'));
    if (identity === undefined) report(module.file.path, 'declares no user-assigned identity');
    if (grants.length !== 1) report(module.file.path, `expected one role assignment, found ${grants.length}`);
    for (const grant of grants) {
      const body = lexed.commentless.slice(grant.bodyStart, grant.bodyEnd);
      if (container === undefined || !new RegExp(`\\n\\s*scope:\\s*${container.symbol}\\n`).test(body))
        report(module.file.path, `${grant.symbol} must be scoped to the deployment container, nothing wider`);
      if (
        identity === undefined ||
        !new RegExp(`principalId:\\s*${identity.symbol}\\.properties\\.principalId\\n`).test(body)
      )
        report(module.file.path, `${grant.symbol} must grant the identity declared here`);
      const role = /roleDefinitionId:[^\n]*,\s*(\w+)\)/.exec(body)?.[1];
      const value =
        role === undefined ? undefined : new RegExp(`var ${role} = '([^']+)'`).exec(lexed.commentless)?.[1];
      if (value !== blobRoleId)
        report(module.file.path, `${grant.symbol} must grant Storage Blob Data Contributor`);
    }
    if (
      identity !== undefined &&
      !new RegExp(`output id string = ${identity.symbol}\\.id\\n`).test(lexed.commentless)
    )
      report(module.file.path, 'must output the identity as id');
  }
  if (site !== undefined) {
    const text = site.lexed.commentless;
    const authentication = /authentication:\s*(\{[^{}]*\}|[^\n]*)/.exec(text)?.[1] ?? '';
    if (
      !/^\{\s*type:\s*'UserAssignedIdentity'\s*userAssignedIdentityResourceId:\s*deploymentIdentityId\s*\}$/.test(
        authentication,
      )
    )
      report(
        site.file.path,
        'the deployment storage must authenticate with deploymentIdentityId, in every mode',
      );
    const identityBlock = /\n {2}identity:[\s\S]*?\n {2}properties:/.exec(text)?.[0] ?? '';
    if ((identityBlock.match(/'\$\{deploymentIdentityId\}': \{\}/g) ?? []).length !== 2)
      report(site.file.path, 'the site must hold the deployment identity in both identity modes');
    const credential = /var clientId = [^\n]*/.exec(text)?.[0] ?? '';
    if (/deploymentIdentity/i.test(credential) || !/userIdentity/.test(credential))
      report(
        site.file.path,
        "the app's client id must be its own identity's, never the deployment identity's",
      );
  }
  if (main !== undefined) {
    const modules = modulesOf(main.lexed);
    const identityModule = modules.find((m) => m.path === DEPLOYMENT_IDENTITY.moduleRef);
    const siteModule = modules.find((m) => m.path === DEPLOYMENT_IDENTITY.functionAppRef);
    if (identityModule === undefined)
      report(main.file.path, `does not deploy ${DEPLOYMENT_IDENTITY.moduleRef}`);
    if (identityModule !== undefined && siteModule !== undefined) {
      const body = main.lexed.masked.slice(siteModule.bodyStart, siteModule.bodyEnd);
      if (!new RegExp(`\\bdeploymentIdentityId:\\s*${identityModule.symbol}\\.outputs\\.id\\n`).test(body))
        report(
          main.file.path,
          `${siteModule.symbol} must take deploymentIdentityId from ${identityModule.symbol}.outputs, so that it waits for the grant`,
        );
    }
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------------------
// infra/role-definitions.bicep computes what main.bicep computes

export const ROLE_DEFINITIONS_PATH = 'infra/role-definitions.bicep';

/**
 * Every variable and module of role-definitions.bicep is written exactly as in main.bicep (comments and
 * layout aside), every parameter is one main.bicep has, and it declares no resource: so the definitions the
 * hook creates first are the ones main.bicep then deploys, with the same ids, actions and assignable scopes.
 */
export function checkRoleDefinitionsTemplate(files: readonly InfraFile[]): Finding[] {
  const at = { check: 'role-definitions' as const, file: ROLE_DEFINITIONS_PATH };
  const own = files.find((f) => f.path === ROLE_DEFINITIONS_PATH);
  const main = files.find((f) => f.path === 'infra/main.bicep');
  if (own === undefined || main === undefined) return [{ ...at, message: 'is missing (or main.bicep is)' }];
  const findings: Finding[] = [];
  const ownLexed = lexBicep(own.text);
  const mainLexed = lexBicep(main.text);
  const varText = (lexed: LexedBicep, name: string): string | undefined => {
    const found = varExpression(lexed, name);
    return found && squash(lexed.commentless.slice(found.start, found.start + found.masked.length));
  };
  const vars = [...ownLexed.masked.matchAll(/(^|\n)var\s+(\w+)\s*=/g)].map((m) => m[2] ?? '');
  if (vars.length === 0) findings.push({ ...at, message: 'declares no variable' });
  for (const name of vars)
    if (varText(ownLexed, name) !== varText(mainLexed, name))
      findings.push({ ...at, message: `var ${name} is not written as in main.bicep` });
  const mainModules = modulesOf(mainLexed);
  const moduleText = (
    lexed: LexedBicep,
    m: { head: string; bodyStart: number; bodyEnd: number; path: string },
  ): string => squash(`${m.path} ${m.head} ${lexed.commentless.slice(m.bodyStart, m.bodyEnd)}`);
  const modules = modulesOf(ownLexed);
  if (modules.length === 0) findings.push({ ...at, message: 'deploys no module' });
  for (const module of modules) {
    const twin = mainModules.find((m) => m.symbol === module.symbol);
    if (twin === undefined || moduleText(mainLexed, twin) !== moduleText(ownLexed, module))
      findings.push({ ...at, message: `module ${module.symbol} is not written as in main.bicep` });
  }
  if (resourcesOf(ownLexed).length > 0)
    findings.push({ ...at, message: 'must declare no resource of its own' });
  const mainParams = new Set(paramsOf(main.text).map((p) => p.name));
  for (const param of paramsOf(own.text))
    if (!mainParams.has(param.name))
      findings.push({ ...at, message: `param ${param.name} is not one of main.bicep` });
  return findings;
}
