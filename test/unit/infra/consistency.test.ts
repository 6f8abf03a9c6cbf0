import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { RESOURCE_GRAPH_PATH } from '../../../src/arm/resource-graph.js';
import { loadConfig } from '../../../src/config.js';
import { actionsOf, PROVIDERS } from '../../../src/model/provider-registry.js';
import type { ProviderType } from '../../../src/model/provider-registry.js';
import { DISCOVERY_JSON, formattedDiscoveryJson, providersJson } from '../../../dev/providers.js';
import {
  appSettingsOf,
  checkAppSettings,
  checkCustomRole,
  checkDeployerRole,
  checkDeploymentIdentity,
  checkRoleDefinitionsTemplate,
  checkDiscoveryRole,
  checkDiscoveryScopes,
  checkForbiddenSettings,
  checkHardening,
  checkNoSecrets,
  checkParameterFile,
  checkRoleIds,
  customRolesOf,
  DISCOVERY,
  DISCOVERY_ROLE_FILES,
  discoveryActionsFor,
  paramsOf,
  providerActions,
  secretLikeness,
} from './bicep-checks.js';
import type {
  AppSettingRules,
  CheckName,
  DiscoveryRules,
  Finding,
  HardeningRule,
  InfraFile,
} from './bicep-checks.js';
import { lexBicep, resourcesOf } from './bicep-lexer.js';
import { DEPLOYER_ROLES } from './deployer-rules.js';
import {
  configNamesFromSource,
  functionsUsingLiteral,
  httpMethodsFromSource,
  processEnvNamesFromSource,
} from './code-facts.js';

/**
 * Keeps infra/ and the code from drifting apart, and keeps infra/ least-privileged and free of secrets.
 * The same pure checks run over the real templates (no findings allowed) and over mutated copies (the
 * finding must appear), so a check that can never fail is itself caught.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const posix = (path: string): string => path.split(sep).join('/');

function walk(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = posix(join(dir, name));
    return statSync(join(root, path)).isDirectory() ? walk(path) : [path];
  });
}

const infraFiles: InfraFile[] = walk('infra')
  .filter((path) => path.endsWith('.bicep') || path.endsWith('.json'))
  .map((path) => ({ path, text: read(path) }));

const sourceFiles = walk('src').filter((path) => path.endsWith('.ts'));

/** Every configuration name the code reads: the envSchema keys, AzureWebJobsStorage*, and any process.env use. */
const readByCode = [
  ...new Set([
    ...configNamesFromSource(read('src/config.ts')),
    ...sourceFiles.flatMap((path) => processEnvNamesFromSource(read(path), path)),
  ]),
].sort();

/** Read by the code, deliberately not set by the template. */
const OPTIONAL_SETTINGS: Record<string, string> = {
  PORT: 'port of the local dev host (dev/host.ts); the Functions host owns the port in Azure',
  AZURE_CREDENTIAL:
    'defaults to managed-identity, which is what Azure needs; azure-cli is only for a developer running locally',
  AzureWebJobsStorage:
    'a connection string carries an account key and shared-key access is disabled; the identity-based __*ServiceUri settings are used',
  AzureWebJobsStorage__accountName:
    'alternative to __tableServiceUri that config.ts accepts; the template sets explicit service URIs, which work in every cloud',
  AUDIT_SPOOL_DIR:
    "defaults to the instance's temporary directory, the only local disk a Flex Consumption instance has",
};

/** Set by the template for the Functions host / platform; our code does not read them. */
const PLATFORM_SETTINGS: Record<string, string> = {
  AzureWebJobsStorage__blobServiceUri: 'Functions host storage (leases, host keys), by identity',
  AzureWebJobsStorage__credential: 'managedidentity: host storage uses the user-assigned identity',
  AzureWebJobsStorage__clientId: 'which user-assigned identity host storage uses',
  APPLICATIONINSIGHTS_CONNECTION_STRING:
    'where the host sends telemetry (no credential: local auth is disabled)',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD: telemetry is sent with the managed identity',
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT:
    'the most the host reads of a body before the app refuses it over 64 KiB (1 MiB, not 100 MB)',
};

const FORBIDDEN_SETTINGS: Record<string, string> = {
  FUNCTIONS_WORKER_RUNTIME:
    'Flex Consumption takes the runtime from functionAppConfig.runtime and rejects it',
  FUNCTIONS_EXTENSION_VERSION: 'Flex Consumption rejects it (the host version is managed)',
  WEBSITE_NODE_DEFAULT_VERSION: 'Flex Consumption takes the Node version from functionAppConfig.runtime',
  WEBSITE_RUN_FROM_PACKAGE: 'Flex Consumption deploys from functionAppConfig.deployment.storage',
  WEBSITE_CONTENTAZUREFILECONNECTIONSTRING: 'an Azure Files connection string carries an account key',
  WEBSITE_CONTENTSHARE: 'Azure Files content share: not used by Flex Consumption',
  APPINSIGHTS_INSTRUMENTATIONKEY: 'key-based ingestion; local auth is disabled',
  AzureWebJobsStorage: 'a connection string carries an account key; shared-key access is disabled',
};

const rules: AppSettingRules = { readByCode, optional: OPTIONAL_SETTINGS, platform: PLATFORM_SETTINGS };

/** Built-in roles the templates may reference, and why. Any other GUID literal is a finding. */
const ALLOWED_ROLE_IDS: Record<string, string> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b':
    'Storage Blob Data Owner: host storage + deployment container (app)',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor: idempotency, audit, nonces (app)',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88':
    'Storage Queue Data Contributor: the work queue of approvals that continue (app)',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User: read webhook secrets (app)',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher: identity-based telemetry (app)',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer: operator loads and rotates secrets',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe':
    'Storage Blob Data Contributor: the deployment identity, on the deployment container only',
};

const BROAD_ROLE_IDS: Record<string, string> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  'f58310d9-a9f6-439a-9e8d-f62e7b41a168': 'Role Based Access Control Administrator',
};

const HARDENING: HardeningRule[] = [
  { type: 'Microsoft.Web/serverfarms', property: 'name', value: "'FC1'", why: 'Flex Consumption plan' },
  {
    type: 'Microsoft.Web/serverfarms',
    property: 'tier',
    value: "'FlexConsumption'",
    why: 'Flex Consumption plan',
  },
  { type: 'Microsoft.Web/sites', property: 'kind', value: "'functionapp,linux'", why: 'Linux function app' },
  { type: 'Microsoft.Web/sites', property: 'httpsOnly', value: 'true', why: 'no plain HTTP' },
  { type: 'Microsoft.Web/sites', property: 'minTlsVersion', value: "'1.2'", why: 'TLS 1.2 minimum' },
  {
    type: 'Microsoft.Web/sites',
    property: 'scmMinTlsVersion',
    value: "'1.2'",
    why: 'TLS 1.2 minimum on SCM',
  },
  { type: 'Microsoft.Web/sites', property: 'ftpsState', value: "'Disabled'", why: 'no FTP' },
  { type: 'Microsoft.Web/sites', property: 'name', value: "'node'", why: 'Node runtime' },
  {
    type: 'Microsoft.Web/sites',
    property: 'version',
    value: "'22'",
    why: 'Node 22: Node 20 reached end of life on 2026-04-30 (package.json engines admits both)',
  },
  {
    type: 'Microsoft.Web/sites/basicPublishingCredentialsPolicies',
    property: 'allow',
    value: 'false',
    why: 'no FTP / SCM basic-auth publishing',
  },
  {
    type: 'Microsoft.Storage/storageAccounts',
    property: 'allowSharedKeyAccess',
    value: 'false',
    why: 'no keys',
  },
  {
    type: 'Microsoft.Storage/storageAccounts',
    property: 'allowBlobPublicAccess',
    value: 'false',
    why: 'no anonymous blob access',
  },
  {
    type: 'Microsoft.Storage/storageAccounts',
    property: 'minimumTlsVersion',
    value: "'TLS1_2'",
    why: 'TLS 1.2',
  },
  {
    type: 'Microsoft.Storage/storageAccounts',
    property: 'supportsHttpsTrafficOnly',
    value: 'true',
    why: 'no plain HTTP',
  },
  {
    type: 'Microsoft.Storage/storageAccounts/blobServices/containers',
    property: 'publicAccess',
    value: "'None'",
    why: 'deployment package is private',
  },
  {
    type: 'Microsoft.KeyVault/vaults',
    property: 'enableRbacAuthorization',
    value: 'true',
    why: 'RBAC, no policies',
  },
  {
    type: 'Microsoft.KeyVault/vaults',
    property: 'enableSoftDelete',
    value: 'true',
    why: 'recoverable secrets',
  },
  {
    type: 'Microsoft.KeyVault/vaults',
    property: 'enablePurgeProtection',
    value: 'true',
    why: 'no hard delete',
  },
  {
    type: 'Microsoft.Insights/components',
    property: 'DisableLocalAuth',
    value: 'true',
    why: 'Entra-only ingestion',
  },
  {
    type: 'Microsoft.OperationalInsights/workspaces',
    property: 'disableLocalAuth',
    value: 'true',
    why: 'Entra-only access',
  },
];

/** What the app can need: every registry type's actions (the deployment grants those of the enabled types). */
const armActions = [...new Set(PROVIDERS.flatMap(actionsOf))];

/**
 * What a discovery scan reads, worked out here from what the scan does rather than taken from dev/providers.ts,
 * so that a slip in the generator shows up as a difference: the Resource Graph query (a POST that Resource
 * Manager authorises as a read of the path), each type's own read (Resource Graph returns only readable
 * resources), and its connections' read (a type whose body leaves its connections out is listed one by one,
 * and any connection is read by id before people are asked and when its request closes).
 */
const graphRead = `${RESOURCE_GRAPH_PATH.replace(/^\/providers\//, '')}/read`;
const scanReads = (p: ProviderType): string[] => [
  `${p.type}/read`,
  `${p.type}/privateEndpointConnections/read`,
];
const discoveryRules: DiscoveryRules = {
  fixed: [graphRead],
  byType: Object.fromEntries(PROVIDERS.map((p) => [p.type, scanReads(p)])),
};
const AKS_TYPE = 'Microsoft.ContainerService/managedClusters';

const BLOB_DATA_CONTRIBUTOR = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe';

/** Runs every check over a set of files. */
function allFindings(files: readonly InfraFile[], settingRules: AppSettingRules = rules): Finding[] {
  const template = files.find((f) => f.path === 'infra/main.bicep');
  const parameters = files.find((f) => f.path === 'infra/main.parameters.json');
  return [
    ...checkAppSettings(files, settingRules),
    ...checkForbiddenSettings(files, FORBIDDEN_SETTINGS),
    ...checkCustomRole(files, armActions, DISCOVERY_ROLE_FILES),
    ...checkDiscoveryRole(files, discoveryRules),
    ...checkDiscoveryScopes(files),
    ...checkRoleIds(files, ALLOWED_ROLE_IDS, BROAD_ROLE_IDS),
    ...checkNoSecrets(files),
    ...checkHardening(files, HARDENING),
    ...(template && parameters ? checkParameterFile(template, parameters) : []),
    ...checkDeploymentIdentity(files, BLOB_DATA_CONTRIBUTOR),
    ...checkRoleDefinitionsTemplate(files),
    ...DEPLOYER_ROLES.flatMap((role) => checkDeployerRole(files, role)),
  ];
}

const show = (findings: readonly Finding[]): string[] =>
  findings.map((f) => `[${f.check}] ${f.file}${f.line ? `:${f.line}` : ''} ${f.message}`);

/** A copy of the infra files with one exact edit; throws if the edit does not apply (no vacuous tests). */
function mutate(path: string, from: string, to: string): InfraFile[] {
  return infraFiles.map((file) => {
    if (file.path !== path) return file;
    if (!file.text.includes(from)) throw new Error(`mutation target not found in ${path}: ${from}`);
    return { path, text: file.text.replace(from, to) };
  });
}

const append = (path: string, text: string): InfraFile[] =>
  infraFiles.map((file) => (file.path === path ? { path, text: `${file.text}\n${text}\n` } : file));

const only = (findings: readonly Finding[], check: CheckName): string[] =>
  show(findings.filter((f) => f.check === check));

const FUNCTION_APP = 'infra/modules/function-app.bicep';
const ROLE = 'infra/modules/approver-role.bicep';
const PROVIDERS_JSON = 'infra/providers.json';
const WRITE_ACTION = '"Microsoft.ContainerService/managedClusters/privateEndpointConnections/write"';
const AKS_READ = '"Microsoft.ContainerService/managedClusters/read"';
const GRAPH_LITERAL = "['Microsoft.ResourceGraph/resources/read']";

describe('infra/ agrees with the code', () => {
  it('finds the templates and the configuration names (the checks have something to check)', () => {
    expect(infraFiles.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        'infra/main.bicep',
        'infra/main.parameters.json',
        FUNCTION_APP,
        ROLE,
        DISCOVERY.roleModule,
        DISCOVERY.managementGroup,
      ]),
    );
    expect(readByCode).toEqual(
      expect.arrayContaining(['KEY_VAULT_URL', 'POLICY_PATH', 'AzureWebJobsStorage']),
    );
    expect(appSettingsOf(infraFiles).length).toBeGreaterThan(20);
  });

  it('sets every configuration name the code reads, or lists it as optional with a reason', () => {
    expect(show(checkAppSettings(infraFiles, rules))).toEqual([]);
  });

  it('sets nothing Flex Consumption rejects and nothing that carries a key', () => {
    expect(show(checkForbiddenSettings(infraFiles, FORBIDDEN_SETTINGS))).toEqual([]);
  });

  it('grants the custom role exactly the actions of the registry, through infra/providers.json', () => {
    expect(show(checkCustomRole(infraFiles, armActions, DISCOVERY_ROLE_FILES))).toEqual([]);
    const approver = customRolesOf(infraFiles).find((role) => role.file === ROLE);
    expect(approver?.actionsFrom).toBe('actions');
    expect(providerActions(infraFiles).sort()).toEqual([...armActions].sort());
    expect(read('infra/providers.json')).toBe(providersJson());
  });

  it(`${DISCOVERY_JSON} is what npm run providers renders from the registry now`, async () => {
    expect(read(DISCOVERY_JSON)).toBe(await formattedDiscoveryJson());
    expect(Object.keys(JSON.parse(read(DISCOVERY_JSON)) as object)).toEqual(
      Object.keys(JSON.parse(read('infra/providers.json')) as object),
    );
  });

  it('grants only the enabled types: main.bicep filters providers.json by enabledResourceTypes', () => {
    const main = read('infra/main.bicep');
    expect(main).toContain("loadJsonContent('providers.json')");
    expect(main).toMatch(
      /var roleActions = union\(flatten\(map\(enabledTypes, t => providerActions\[t\]\)\), \[\]\)/,
    );
    expect(main).toMatch(/actions: roleActions/);
    expect(read('infra/modules/approver-role.bicep')).toMatch(/actions: actions\n/);
  });

  it('the ARM client sends GET (reads, polls), PUT, and POST only to Resource Graph', () => {
    const armSources = sourceFiles.filter((p) => p.startsWith('src/arm/'));
    const used = [...new Set(armSources.flatMap((p) => httpMethodsFromSource(read(p), p)))].sort();
    expect(used).toEqual(['GET', 'POST', 'PUT']);
    // A POST is an action of its own in RBAC unless it is Resource Graph's query, which is authorised as a read.
    const posts = armSources.flatMap((p) => functionsUsingLiteral(read(p), 'POST', p));
    expect(posts.length).toBeGreaterThan(0);
    for (const text of posts) expect(text).toContain('RESOURCE_GRAPH_PATH');
    expect(graphRead).toBe('Microsoft.ResourceGraph/resources/read');
  });

  it('grants the discovery reader exactly what a scan of the enabled types reads, and no write', () => {
    expect(show(checkDiscoveryRole(infraFiles, discoveryRules))).toEqual([]);
    const aksReads = [graphRead, `${AKS_TYPE}/read`, `${AKS_TYPE}/privateEndpointConnections/read`];
    const everyType = [graphRead, ...PROVIDERS.flatMap(scanReads)].sort();
    for (const template of [DISCOVERY.main, DISCOVERY.managementGroup]) {
      // The templates' default (AKS only), `*`: every type of the registry, and blank: none (never every type).
      const byDefault = discoveryActionsFor(infraFiles, template, AKS_TYPE);
      expect(show(byDefault.findings)).toEqual([]);
      expect(byDefault.actions).toEqual(aksReads);
      expect(discoveryActionsFor(infraFiles, template, ' * ').actions.sort()).toEqual(everyType);
      expect(discoveryActionsFor(infraFiles, template, ' ').actions).toEqual([graphRead]);
      const two = discoveryActionsFor(
        infraFiles,
        template,
        'Microsoft.Storage/storageAccounts, Microsoft.Web/sites',
      );
      expect(two.actions).toEqual([
        graphRead,
        'Microsoft.Storage/storageAccounts/read',
        'Microsoft.Storage/storageAccounts/privateEndpointConnections/read',
        'Microsoft.Web/sites/read',
        'Microsoft.Web/sites/privateEndpointConnections/read',
      ]);
    }
    expect(everyType.filter((a) => !a.endsWith('/read') || a.includes('*'))).toEqual([]);
    // An empty value is refused at deployment rather than read as anything.
    for (const template of ['infra/main.bicep', 'infra/role-definitions.bicep', DISCOVERY.managementGroup]) {
      expect(read(template)).toMatch(
        /@minLength\(1\)\nparam enabledResourceTypes string = 'Microsoft\.ContainerService\/managedClusters'/,
      );
    }
  });

  it('assigns the discovery reader only at the discovery scopes', () => {
    expect(show(checkDiscoveryScopes(infraFiles))).toEqual([]);
  });

  it('splits DISCOVERY_SCOPES into subscriptions and management groups as the app does', () => {
    const main = read('infra/main.bicep');
    // The three variables, pinned; `fromBicep` below is what they compute.
    expect(main).toContain(
      "var discoveryScopeList = filter(map(split(discoveryScopes, ','), s => trim(s)), s => !empty(s))",
    );
    expect(main).toContain(
      "var discoverySubscriptions = union(map(filter(discoveryScopeList, s => !startsWith(s, '/')), s => toLower(s)), [])",
    );
    expect(main).toContain(
      "var discoveryManagementGroups = union(map(filter(discoveryScopeList, s => startsWith(s, '/')), s => last(split(s, '/'))), [])",
    );
    const fromBicep = (value: string): { subscriptions: string[]; managementGroups: string[] } => {
      const list = value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      return {
        subscriptions: [...new Set(list.filter((s) => !s.startsWith('/')).map((s) => s.toLowerCase()))],
        managementGroups: [
          ...new Set(list.filter((s) => s.startsWith('/')).map((s) => s.split('/').pop() ?? '')),
        ],
      };
    };
    const value =
      ' 0B7E0E1E-0000-4000-8000-000000000001 ,/providers/Microsoft.Management/managementGroups/mg-one,7d3c0e1e-0000-4000-8000-000000000002';
    const app = loadConfig({ DISCOVERY_SCOPES: value }).discovery;
    expect(fromBicep(value)).toEqual({
      subscriptions: app.subscriptions,
      managementGroups: app.managementGroups,
    });
  });

  it('wires every discovery setting from an azd value through main.bicep to the app setting', () => {
    const functionApp = read(FUNCTION_APP);
    const main = read('infra/main.bicep');
    const parameters = (
      JSON.parse(read('infra/main.parameters.json')) as { parameters: Record<string, { value: string }> }
    ).parameters;
    for (const [setting, param] of [
      ['DISCOVERY_SCOPES', 'discoveryScopes'],
      ['DISCOVERY_SCHEDULE', 'discoverySchedule'],
      ['DISCOVERY_REMIND_AFTER_HOURS', 'discoveryRemindAfterHours'],
      ['DISCOVERY_SCAN_BUDGET_SECONDS', 'discoveryScanBudgetSeconds'],
      ['DISCOVERY_SERVICENOW_FIELDS', 'discoveryServicenowFields'],
      ['DISCOVERY_SLACK_CHANNEL', 'discoverySlackChannel'],
      ['SLACK_BOT_TOKEN_SECRET_NAME', 'slackBotTokenSecretName'],
      ['SLACK_API_URL', 'slackApiUrl'],
    ] as const) {
      expect(readByCode, setting).toContain(setting);
      // Blank by default: src/config.ts reads a blank setting as unset and applies its own default.
      expect(main, param).toMatch(new RegExp(`\\nparam ${param} string = ''\\n`));
      expect(main, param).toMatch(new RegExp(`\\n      ${param}: ${param}\\n`));
      expect(parameters[param]?.value, param).toBe(`\${${setting}}`);
      expect(functionApp, setting).toMatch(new RegExp(`\\n  ${param}: string\\n`));
      expect(functionApp, setting).toMatch(
        new RegExp(`name: '${setting}'\\n\\s*value: settings\\.${param}\\n`),
      );
    }
  });

  it('docs/deploy.md deploys the management-group template as it is declared, and creates Discovery.Run', () => {
    const docs = read('docs/deploy.md');
    const section = docs.slice(docs.indexOf('## 9. Discovery'));
    const command = /az deployment mg create[^`]*/.exec(section)?.[0] ?? '';
    expect(command).toContain(`--template-file ${DISCOVERY.managementGroup}`);
    const given = [...command.matchAll(/(?:--parameters|\s)(\w+)="/g)].map((m) => m[1]).sort();
    const declared = paramsOf(read(DISCOVERY.managementGroup));
    expect(given).toEqual(declared.map((p) => p.name).sort());
    // The route's role is a constant of the code; the documented app role must carry exactly that value.
    const role = sourceFiles
      .map((path) => /\bDISCOVERY_RUN_ROLE\s*=\s*'([^']+)'/.exec(read(path))?.[1])
      .find((value) => value !== undefined);
    expect(role).toBe('Discovery.Run');
    expect(section).toContain(`"value":"${role}"`);
  });

  it('references only allow-listed built-in roles', () => {
    expect(show(checkRoleIds(infraFiles, ALLOWED_ROLE_IDS, BROAD_ROLE_IDS))).toEqual([]);
  });

  it('holds no secret, key or connection string in templates or outputs', () => {
    expect(show(checkNoSecrets(infraFiles))).toEqual([]);
  });

  it('keeps the hardening settings (Flex, TLS, FTP off, no shared keys, RBAC vault, no local auth)', () => {
    expect(show(checkHardening(infraFiles, HARDENING))).toEqual([]);
  });

  it('has a parameter file that matches main.bicep', () => {
    expect(show(allFindings(infraFiles).filter((f) => f.check === 'parameters'))).toEqual([]);
  });

  it('declares both publishing-credential policies (ftp and scm)', () => {
    const lexed = lexBicep(read(FUNCTION_APP));
    const names = resourcesOf(lexed)
      .filter((r) => r.type.startsWith('Microsoft.Web/sites/basicPublishingCredentialsPolicies@'))
      .map((r) => /name:\s*'(\w+)'/.exec(lexed.text.slice(r.bodyStart, r.bodyEnd))?.[1]);
    expect(names.sort()).toEqual(['ftp', 'scm']);
  });

  it('assigns the custom role at subscription, resource group and cluster scopes through modules', () => {
    const main = read('infra/main.bicep');
    for (const module of ['assign-subscription', 'assign-resource-group', 'assign-cluster']) {
      expect(main).toContain(`'modules/${module}.bicep'`);
      const text = read(`infra/modules/${module}.bicep`);
      expect(text).toContain(
        "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)",
      );
      expect(text).toContain("principalType: 'ServicePrincipal'");
    }
  });

  it('deploys service api from azure.yaml as a Node function app from the staged bundle', () => {
    const azure = parseYaml(read('azure.yaml')) as {
      services: Record<
        string,
        { project: string; language: string; host: string; dist: string; hooks: unknown }
      >;
    };
    const api = azure.services.api;
    expect(api).toMatchObject({ project: '.', language: 'ts', host: 'function', dist: 'dist/package' });
    const main = (JSON.parse(read('package.json')) as { main: string }).main;
    expect(main).toBe('dist/bundle/index.js');
    // Both twins stage the bundle and its map, host.json, a package.json and policy/, and install nothing.
    for (const script of ['infra/scripts/stage-package.sh', 'infra/scripts/stage-package.ps1']) {
      const text = read(script);
      for (const piece of [
        'dist/bundle/index.js',
        'dist/bundle/index.js.map',
        'dist/bundle/index.js.LEGAL.txt',
        'host.json',
        'build/package-json.mjs',
        'policy',
      ]) {
        expect(text, `${script} stages ${piece}`).toContain(piece);
      }
      for (const absent of ['npm ci', 'node_modules', 'dist/src', 'package-lock.json']) {
        expect(text.replace(/^\s*#.*$/gm, ''), `${script} must not stage ${absent}`).not.toContain(absent);
      }
    }
    // azd reads .funcignore from the folder it zips (dist/package), where staging already chose every file: a
    // root .funcignore would do nothing and mislead whoever edits it.
    expect(existsSync(join(root, '.funcignore')), 'no root .funcignore').toBe(false);
  });
});

describe('the checks catch drift (mutated copies of the real templates)', () => {
  it('reports an action added to the custom role', () => {
    const files = mutate(
      PROVIDERS_JSON,
      WRITE_ACTION,
      `${WRITE_ACTION},\n    "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"`,
    );
    expect(only(allFindings(files), 'custom-role')).toEqual([
      expect.stringContaining(
        'action Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action is not an operation',
      ),
    ]);
  });

  it('reports an action the client needs but the role lacks', () => {
    const files = mutate(PROVIDERS_JSON, `,\n    ${WRITE_ACTION}`, '');
    expect(only(allFindings(files), 'custom-role')).toEqual([
      expect.stringContaining(
        'privateEndpointConnections/write is performed by the ARM client but not granted',
      ),
    ]);
  });

  it('reports a wildcard, a data action, and actions that are not literals', () => {
    const wildcard = mutate(PROVIDERS_JSON, WRITE_ACTION, '"Microsoft.ContainerService/managedClusters/*"');
    expect(only(allFindings(wildcard), 'custom-role')).toEqual(
      expect.arrayContaining([
        expect.stringContaining('wildcard action Microsoft.ContainerService/managedClusters/*'),
      ]),
    );
    const data = mutate(
      ROLE,
      'dataActions: []',
      "dataActions: [\n          'Microsoft.KeyVault/vaults/secrets/getSecret/action'\n        ]",
    );
    expect(only(allFindings(data), 'custom-role')).toEqual([
      expect.stringContaining('dataActions must be empty'),
    ]);
    const variable = mutate(ROLE, 'notActions: []', 'notActions: someList');
    expect(only(allFindings(variable), 'custom-role')).toEqual([
      expect.stringContaining('notActions must be a literal list'),
    ]);
  });

  it('reports a write action that sneaks into the discovery reader', () => {
    const write = 'Microsoft.ContainerService/managedClusters/privateEndpointConnections/write';
    // Into the generated lists (by hand, or a generator that took the approver's list)...
    const listed = mutate(DISCOVERY_JSON, AKS_READ, `${AKS_READ},\n    ${WRITE_ACTION}`);
    expect(only(allFindings(listed), 'discovery-role')).toEqual([
      expect.stringContaining(`${AKS_TYPE} lists ${write}, which a scan of it does not make`),
      expect.stringContaining(`main.bicep ${write} is not a read`),
      expect.stringContaining(`main.bicep action ${write} is not one a scan needs`),
      expect.stringContaining(`discovery-management-group.bicep ${write} is not a read`),
      expect.stringContaining(`discovery-management-group.bicep action ${write} is not one a scan needs`),
    ]);
    // ...next to the Resource Graph read in a template...
    const literal = mutate(
      DISCOVERY.managementGroup,
      GRAPH_LITERAL,
      "['Microsoft.ResourceGraph/resources/read', 'Microsoft.Network/privateEndpoints/write']",
    );
    expect(only(allFindings(literal), 'discovery-role')).toEqual([
      expect.stringContaining('Microsoft.Network/privateEndpoints/write is not a read'),
      expect.stringContaining('action Microsoft.Network/privateEndpoints/write is not one a scan needs'),
    ]);
    // ...by taking the approver's list instead of the discovery one...
    const approverList = mutate(
      DISCOVERY.main,
      "var discoveryReads = loadJsonContent('discovery-actions.json')",
      "var discoveryReads = loadJsonContent('providers.json')",
    );
    const swapped = only(allFindings(approverList), 'discovery-role');
    expect(swapped).toEqual(
      expect.arrayContaining([
        expect.stringContaining('var discoveryReads must be loadJsonContent of infra/discovery-actions.json'),
        expect.stringContaining(`${write} is not a read`),
      ]),
    );
    expect(swapped).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`${AKS_TYPE}/read is needed by a scan but not granted`),
      ]),
    );
    // ...or around the list in a role definition.
    const around = mutate(
      DISCOVERY.managementGroup,
      'actions: discoveryActions',
      "actions: union(discoveryActions, ['Microsoft.Authorization/roleAssignments/write'])",
    );
    expect(only(allFindings(around), 'discovery-role')).toEqual([
      expect.stringContaining('actions must be exactly discoveryActions'),
      expect.stringContaining('actions must be a literal list'),
    ]);
  });

  it('reports a wildcard, a data action or a missing read in the discovery reader', () => {
    const wildcard = mutate(DISCOVERY_JSON, AKS_READ, '"Microsoft.ContainerService/managedClusters/*"');
    expect(only(allFindings(wildcard), 'discovery-role')).toEqual(
      expect.arrayContaining([
        expect.stringContaining('main.bicep wildcard action Microsoft.ContainerService/managedClusters/*'),
        expect.stringContaining(`main.bicep action ${AKS_TYPE}/read is needed by a scan but not granted`),
      ]),
    );
    const data = mutate(
      DISCOVERY.roleModule,
      'dataActions: []',
      "dataActions: [\n          'Microsoft.KeyVault/vaults/secrets/getSecret/action'\n        ]",
    );
    expect(only(allFindings(data), 'discovery-role')).toEqual([
      expect.stringContaining('dataActions must be empty'),
    ]);
    expect(only(allFindings(data), 'custom-role')).toEqual([]);
    const noGraph = mutate(DISCOVERY.main, GRAPH_LITERAL, '[]');
    expect(only(allFindings(noGraph), 'discovery-role')).toEqual([
      expect.stringContaining(`main.bicep action ${graphRead} is needed by a scan but not granted`),
    ]);
  });

  it('reports the discovery reader assigned beyond the discovery scopes', () => {
    const targets = mutate(
      DISCOVERY.main,
      'for (subscriptionId, i) in discoverySubscriptions:',
      'for (subscriptionId, i) in subscriptionTargets:',
    );
    expect(only(allFindings(targets), 'discovery-scopes')).toEqual([
      expect.stringContaining(
        'module discoverySubscriptionAssignments assigns the discovery role other than at each subscription',
      ),
    ]);
    const groups = append(
      DISCOVERY.main,
      [
        "module discoveryGroups 'modules/assign-resource-group.bicep' = [",
        '  for (id, i) in resourceGroupTargets: {',
        "    name: 'discovery-rg-${i}'",
        "    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])",
        '    params: {',
        '      principalId: functionApp.outputs.principalId',
        '      roleDefinitionGuid: discoveryRole!.outputs.roleDefinitionGuid',
        '    }',
        '  }',
        ']',
      ].join('\n'),
    );
    expect(only(allFindings(groups), 'discovery-scopes')).toEqual([
      expect.stringContaining(
        'module discoveryGroups assigns the discovery role other than at each subscription',
      ),
    ]);
    const widened = mutate(
      DISCOVERY.main,
      "split(discoveryScopes, ',')",
      "split('${discoveryScopes},${targetSubscriptionIds}', ',')",
    );
    expect(only(allFindings(widened), 'discovery-scopes')).toEqual([
      expect.stringContaining(
        'discoverySubscriptions comes from discoveryScopes, targetSubscriptionIds, not from discoveryScopes alone',
      ),
    ]);
    const unassignable = mutate(
      DISCOVERY.main,
      'union([toLower(subscription().subscriptionId)], discoverySubscriptions)',
      '[toLower(subscription().subscriptionId)]',
    );
    expect(only(allFindings(unassignable), 'discovery-scopes')).toEqual([
      expect.stringContaining('must be assignable in every subscription of discoverySubscriptions'),
    ]);
  });

  it('reports the management-group reader reaching past its group', () => {
    const tenantWide = mutate(DISCOVERY.managementGroup, 'managementGroup().id\n    ]', "'/'\n    ]");
    expect(only(allFindings(tenantWide), 'discovery-scopes')).toEqual([
      expect.stringContaining('discoveryRole must be assignable at managementGroup().id only'),
    ]);
    const elsewhere = mutate(
      DISCOVERY.managementGroup,
      '  name: guid(managementGroup().id, principalId, discoveryRole.name)',
      '  scope: tenant()\n  name: guid(managementGroup().id, principalId, discoveryRole.name)',
    );
    expect(only(allFindings(elsewhere), 'discovery-scopes')).toEqual([
      expect.stringContaining('discoveryAssignment sets a scope'),
    ]);
    const builtIn = mutate(
      DISCOVERY.managementGroup,
      'roleDefinitionId: discoveryRole.id',
      "roleDefinitionId: tenantResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')",
    );
    expect(only(allFindings(builtIn), 'discovery-scopes')).toEqual([
      expect.stringContaining('discoveryAssignment must assign the discovery role defined here'),
    ]);
  });

  it('reports a discovery setting dropped from the template', () => {
    const files = mutate(FUNCTION_APP, "name: 'DISCOVERY_SCOPES'", "name: 'DISCOVERY_SCOPE'");
    expect(only(allFindings(files), 'app-settings')).toEqual([
      expect.stringContaining('DISCOVERY_SCOPES is read by the code but not set'),
      expect.stringContaining(
        'DISCOVERY_SCOPE is set but neither the code nor the Functions platform reads it',
      ),
    ]);
  });

  it('reports a second role definition', () => {
    const files = append(
      'infra/main.bicep',
      "resource extra 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {\n  name: guid('x')\n  properties: {}\n}",
    );
    expect(only(allFindings(files), 'custom-role')).toEqual([
      expect.stringContaining('expected exactly one role definition, found 2'),
    ]);
  });

  it('reports an app setting the code reads that was removed from the template', () => {
    const files = mutate(FUNCTION_APP, "name: 'KEY_VAULT_URL'", "name: 'KEY_VAULT_URI'");
    expect(only(allFindings(files), 'app-settings')).toEqual([
      expect.stringContaining('KEY_VAULT_URL is read by the code but not set'),
      expect.stringContaining(
        'KEY_VAULT_URI is set but neither the code nor the Functions platform reads it',
      ),
    ]);
  });

  it('reports a configuration name added to the code but not to the template', () => {
    const files = infraFiles;
    const findings = checkAppSettings(files, {
      ...rules,
      readByCode: [...readByCode, 'AUDIT_RETENTION_DAYS'],
    });
    expect(show(findings)).toEqual([
      expect.stringContaining('AUDIT_RETENTION_DAYS is read by the code but not set'),
    ]);
  });

  it('reports stale and contradictory entries in the optional list', () => {
    const findings = checkAppSettings(infraFiles, {
      ...rules,
      optional: { ...OPTIONAL_SETTINGS, LOG_LEVEL: 'pretend', GONE_SETTING: 'pretend' },
    });
    expect(show(findings)).toEqual([
      expect.stringContaining('LOG_LEVEL is listed as optional (not set) but the template sets it'),
      expect.stringContaining('GONE_SETTING is listed as optional but the code no longer reads it'),
    ]);
  });

  it('reports settings Flex Consumption rejects or that carry keys', () => {
    const files = mutate(
      FUNCTION_APP,
      "  {\n    name: 'LOG_LEVEL'",
      "  {\n    name: 'FUNCTIONS_WORKER_RUNTIME'\n    value: 'node'\n  }\n  {\n    name: 'LOG_LEVEL'",
    );
    expect(only(allFindings(files), 'forbidden-settings')).toEqual([
      expect.stringContaining('FUNCTIONS_WORKER_RUNTIME must not be set'),
    ]);
  });

  it('reports a listKeys() output', () => {
    const files = append(
      'infra/modules/storage.bicep',
      'output storageKey string = storage.listKeys().keys[0].value',
    );
    expect(only(allFindings(files), 'secrets')).toEqual([
      expect.stringContaining('listKeys() returns keys or secret values'),
      expect.stringContaining('output storageKey exposes a connection string or key'),
    ]);
  });

  it('reports a @secure() output and a connection-string output', () => {
    const files = append(
      'infra/modules/monitoring.bicep',
      '@secure()\noutput telemetry string = appInsights.properties.ConnectionString',
    );
    expect(only(allFindings(files), 'secrets')).toEqual([
      expect.stringContaining('output telemetry is @secure()'),
      expect.stringContaining('output telemetry exposes a connection string or key'),
    ]);
  });

  it('reports a Key Vault secret with a value and a key-like literal', () => {
    const files = append(
      'infra/modules/key-vault.bicep',
      [
        "resource slack 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {",
        '  parent: vault',
        "  name: 'slack-signing-secret'",
        '  properties: {',
        "    value: '8f742231b10e8888abcd99yyyzzz85a5'",
        '  }',
        '}',
        "var sas = 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=c2VjcmV0LXNhbXBsZS1ub3QtcmVhbA=='",
      ].join('\n'),
    );
    expect(only(allFindings(files), 'secrets')).toEqual([
      expect.stringContaining('Key Vault secret slack has a value in the template'),
      expect.stringContaining('string literal looks like a storage account key'),
    ]);
  });

  it('reports a broad built-in role', () => {
    const files = mutate(
      'infra/modules/app-role-assignments.bicep',
      "keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'",
      "keyVaultSecretsUser: 'b24988ac-6180-42a0-ab88-20f7382dd24c'",
    );
    expect(only(allFindings(files), 'role-ids')).toEqual([
      expect.stringContaining('role b24988ac-6180-42a0-ab88-20f7382dd24c (Contributor) is far broader'),
    ]);
  });

  it('reports weakened hardening', () => {
    const files = mutate(
      'infra/modules/storage.bicep',
      'allowSharedKeyAccess: false',
      'allowSharedKeyAccess: true',
    );
    expect(only(allFindings(files), 'hardening')).toEqual([
      expect.stringContaining('must set allowSharedKeyAccess: false'),
    ]);
    const ftp = mutate(FUNCTION_APP, "ftpsState: 'Disabled'", "ftpsState: 'FtpsOnly'");
    expect(only(allFindings(ftp), 'hardening')).toEqual([
      expect.stringContaining("must set ftpsState: 'Disabled'"),
    ]);
  });

  it('reports a parameter file that names a parameter the template lacks', () => {
    const files = mutate('infra/main.parameters.json', '"logLevel"', '"logLevl"');
    expect(only(allFindings(files), 'parameters')).toEqual([
      expect.stringContaining('logLevl is not a parameter of infra/main.bicep'),
    ]);
  });

  it('reports every violation in the deliberately leaky fixture', () => {
    const fixture: InfraFile[] = [
      { path: 'test/fixtures/infra/leaky.bicep', text: read('test/fixtures/infra/leaky.bicep') },
    ];
    const findings = show([
      ...checkCustomRole(fixture, armActions),
      ...checkRoleIds(fixture, ALLOWED_ROLE_IDS, BROAD_ROLE_IDS),
      ...checkNoSecrets(fixture),
      ...checkHardening(
        fixture,
        HARDENING.filter((r) => r.type === 'Microsoft.Storage/storageAccounts'),
      ),
    ]);
    const expected = [
      'wildcard action Microsoft.ContainerService/*',
      'dataActions must be empty',
      'privateEndpointConnections/read is performed by the ARM client but not granted',
      '(Contributor) is far broader',
      'secure parameter adminPassword has a default value',
      'listKeys() returns keys or secret values',
      'Key Vault secret secret has a value in the template',
      'output storageConnectionString is named like a secret',
      'output key is @secure()',
      'string literal looks like a storage account key',
      'output key exposes a connection string or key',
      'must set allowSharedKeyAccess: false',
      "must set minimumTlsVersion: 'TLS1_2'",
      'must set allowBlobPublicAccess: false',
    ];
    for (const text of expected)
      expect(findings).toEqual(expect.arrayContaining([expect.stringContaining(text)]));
  });
});

describe('the Bicep lexer and the secret heuristics', () => {
  it('ignores brackets and quotes in comments and strings, keeps interpolations as code', () => {
    const text = [
      "// a comment with ] and ' and {",
      "var x = '${concat('a', '}')} [ not code'",
      "/* block { ' */ var y = [",
      "  'one'",
      "  '''multi ' line ]'''",
      ']',
    ].join('\n');
    const lexed = lexBicep(text);
    expect(lexed.masked.length).toBe(text.length);
    expect(lexed.literals.map((l) => l.value)).toEqual([
      'a',
      '}',
      "${concat('a', '}')} [ not code",
      'one',
      "multi ' line ]",
    ]);
    expect(lexed.masked).not.toContain('not code');
    expect(lexed.masked).toContain('concat(');
  });

  it('tells keys from identifiers, ids and URLs', () => {
    expect(
      secretLikeness('Microsoft.ContainerService/managedClusters/privateEndpointConnections/write'),
    ).toBe(undefined);
    expect(
      secretLikeness('https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#'),
    ).toBe(undefined);
    expect(secretLikeness('b7e6dc6d-f1e8-4753-8033-0f276bb0955b')).toBe(undefined);
    expect(secretLikeness('${AZURE_PRINCIPAL_ID}')).toBe(undefined);
    expect(secretLikeness('Q2hhbmdlTWU6IG5vdCBhIHJlYWwga2V5LCBhIHRlc3QgdmFsdWU9')).toBe(
      'looks like a base64 key',
    );
    expect(secretLikeness('0123456789abcdef0123456789abcdef')).toBe('looks like a hex key');
    expect(secretLikeness('xoxb-0000000000-fake-token-value')).toBe('looks like a Slack token');
  });
});
