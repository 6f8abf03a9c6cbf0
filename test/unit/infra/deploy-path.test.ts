import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  actionMatches,
  holds,
  requiredRights,
  roleDefinitionsReason,
  scopesOf,
} from '../../../infra/scripts/azd-hooks.mjs';
import {
  checkDeployerRole,
  checkDeploymentIdentity,
  checkRoleDefinitionsTemplate,
  deployerNeeds,
  paramsOf,
  ROLE_DEFINITIONS_PATH,
} from './bicep-checks.js';
import type { Finding, InfraFile } from './bicep-checks.js';
import { DEPLOYER_ROLES } from './deployer-rules.js';

/**
 * The first `azd up` in an empty subscription (issue 15): what can be checked without Azure, the Bicep CLI or
 * azd. The deployer's rights are derived from the templates and held in two role documents; the hooks that
 * check them, create the custom roles ahead of their assignments and wait for the package identity's grant
 * are run against a stand-in `az`; the package identity is granted before the site; `location` offers only
 * Flex Consumption regions; the app is deployed on Node 22.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const files = (paths: readonly string[]): InfraFile[] => paths.map((path) => ({ path, text: read(path) }));

const DEPLOYER = 'infra/deployer-role.json';
const TARGET = 'infra/deployer-target-role.json';
function walk(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(`${dir}/${entry.name}`) : [`${dir}/${entry.name}`],
  );
}
/** Every template and JSON file of infra/, as the consistency test reads them. */
const infra = files(walk('infra').filter((path) => /\.(bicep|json)$/.test(path)));
const BLOB_DATA_CONTRIBUTOR = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe';

function mutate(path: string, from: string, to: string): InfraFile[] {
  return infra.map((file) => {
    if (file.path !== path) return file;
    if (!file.text.includes(from)) throw new Error(`mutation target not found in ${path}: ${from}`);
    return { path, text: file.text.replace(from, to) };
  });
}
const show = (findings: readonly Finding[]): string[] => findings.map((f) => `${f.file} ${f.message}`);

/** The Flex Consumption regions of the official azd template for TypeScript on Flex Consumption. */
const FLEX_REGIONS = [
  'australiaeast',
  'australiasoutheast',
  'brazilsouth',
  'canadacentral',
  'centralindia',
  'centralus',
  'eastasia',
  'eastus',
  'eastus2',
  'eastus2euap',
  'francecentral',
  'germanywestcentral',
  'italynorth',
  'japaneast',
  'koreacentral',
  'northcentralus',
  'northeurope',
  'norwayeast',
  'southafricanorth',
  'southcentralus',
  'southeastasia',
  'southindia',
  'spaincentral',
  'swedencentral',
  'uaenorth',
  'uksouth',
  'ukwest',
  'westcentralus',
  'westeurope',
  'westus',
  'westus2',
  'westus3',
];

describe('location: only regions that offer Flex Consumption', () => {
  const main = read('infra/main.bicep');
  const decorators =
    /\n((?:@[^\n]*\n(?:[ \t][^\n]*\n|[)\]}][^\n]*\n)*)+)param location string\n/.exec(main)?.[1] ?? '';

  it('is @allowed exactly the Flex Consumption regions, and marked as an azd location', () => {
    const allowed = /@allowed\(\[([^\]]*)\]\)/.exec(decorators)?.[1] ?? '';
    const regions = [...allowed.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(regions).toEqual(FLEX_REGIONS);
    expect(decorators.replace(/\s+/g, '')).toContain("@metadata({azd:{type:'location'}})");
  });

  it('comes from AZURE_LOCATION, which azd then asks for from that list', () => {
    const parameters = JSON.parse(read('infra/main.parameters.json')) as {
      parameters: Record<string, { value: string }>;
    };
    expect(parameters.parameters.location?.value).toBe('${AZURE_LOCATION}');
    expect(paramsOf(main).find((p) => p.name === 'location')?.hasDefault).toBe(false);
  });
});

describe('Node.js 22 in Azure, 20 and 22 locally', () => {
  it('deploys the site on Node 22', () => {
    const site = read('infra/modules/function-app.bicep');
    expect(site.replace(/\/\/[^\n]*/g, '')).toMatch(/runtime: \{\s*name: 'node'\s*version: '22'\s*\}/);
  });

  it('admits 20.19 and later in package.json, which covers 22', () => {
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines;
    expect(engines.node).toBe('>=20.19');
  });

  it('says 22 for deployment in the README and docs/deploy.md, and CI tests on both', () => {
    const readme = read('README.md');
    expect(readme).toMatch(/Node\.js 22/);
    expect(readme).not.toMatch(/TypeScript, Node\.js 20\+/);
    const deploy = read('docs/deploy.md');
    expect(deploy).toContain('Node 22 (`functionAppConfig.runtime`)');
    expect(deploy).not.toMatch(/Node\.js 20 with npm/);
    const ci = read('.ci/run');
    expect(ci).toContain('node@22');
    expect(ci).toMatch(/\bnpm test\b/);
  });
});

describe('the package identity is granted before the site exists (no 403 on the first deploy)', () => {
  it('holds for the templates', () => {
    expect(show(checkDeploymentIdentity(infra, BLOB_DATA_CONTRIBUTOR))).toEqual([]);
  });

  // Each mutation of the templates that would bring the 403 back, and what the check says about it.
  it.each([
    [
      'the site falling back to its system-assigned identity for the package',
      'infra/modules/function-app.bicep',
      "type: 'UserAssignedIdentity'\n            userAssignedIdentityResourceId: deploymentIdentityId",
      "type: 'SystemAssignedIdentity'",
      'the deployment storage must authenticate with deploymentIdentityId',
    ],
    [
      'a grant wider than the container',
      'infra/modules/deployment-identity.bicep',
      '  scope: container\n',
      '  scope: storage\n',
      'must be scoped to the deployment container',
    ],
    [
      'a grant of another role',
      'infra/modules/deployment-identity.bicep',
      `'${BLOB_DATA_CONTRIBUTOR}'`,
      "'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'",
      'must grant Storage Blob Data Contributor',
    ],
    [
      'the site not waiting for the grant',
      'infra/main.bicep',
      'deploymentIdentityId: deploymentIdentity.outputs.id',
      "deploymentIdentityId: resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-deploy')",
      'must take deploymentIdentityId from deploymentIdentity.outputs',
    ],
    [
      'the app credential naming the package identity',
      'infra/modules/function-app.bicep',
      "var clientId = userAssigned ? userIdentity!.properties.clientId : ''",
      "var clientId = reference(deploymentIdentityId, '2023-01-31').clientId",
      "the app's client id must be its own identity's",
    ],
  ])('reports %s', (_what, path, from, to, message) => {
    expect(show(checkDeploymentIdentity(mutate(path, from, to), BLOB_DATA_CONTRIBUTOR))).toEqual([
      expect.stringContaining(message),
    ]);
  });
});

describe('infra/role-definitions.bicep creates the same roles main.bicep does', () => {
  it('is written as main.bicep is', () => {
    expect(show(checkRoleDefinitionsTemplate(infra))).toEqual([]);
  });

  it('reports a variable or module that drifted from main.bicep', () => {
    const actions = mutate(
      ROLE_DEFINITIONS_PATH,
      "['Microsoft.ResourceGraph/resources/read']",
      "['Microsoft.ResourceGraph/resources/read', 'Microsoft.Resources/subscriptions/read']",
    );
    expect(show(checkRoleDefinitionsTemplate(actions))).toEqual([
      expect.stringContaining('var discoveryActions is not written as in main.bicep'),
    ]);
    const seed = mutate(ROLE_DEFINITIONS_PATH, "definitionSeed: 'AKS private", "definitionSeed: 'private");
    expect(show(checkRoleDefinitionsTemplate(seed))).toEqual([
      expect.stringContaining('module approverRole is not written as in main.bicep'),
    ]);
  });
});

const deployerRule = DEPLOYER_ROLES.find((role) => role.path === DEPLOYER)!;

describe('the deployer roles hold exactly what the templates make Resource Manager do', () => {
  it('derives the needs from every resource and module, per scope', () => {
    const needs = deployerNeeds(infra, 'infra/main.bicep');
    const at = (scope: string): string[] => [
      ...new Set(needs.filter((n) => n.scope === scope).map((n) => n.action)),
    ];
    expect(at('deployment')).toEqual(
      expect.arrayContaining([
        'Microsoft.Resources/deployments/write',
        'Microsoft.Resources/subscriptions/resourceGroups/write',
        'Microsoft.Authorization/roleDefinitions/write',
        'Microsoft.Authorization/roleAssignments/write',
        'Microsoft.Web/sites/write',
        'Microsoft.Web/register/action',
        'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
      ]),
    );
    expect(at('target').sort()).toEqual([
      'Microsoft.Authorization/roleAssignments/read',
      'Microsoft.Authorization/roleAssignments/write',
      'Microsoft.ContainerService/managedClusters/read',
      'Microsoft.Resources/deployments/write',
    ]);
  });

  it('reports a resource type the deployer role cannot create, and an unexplained extra', () => {
    const vault = mutate(DEPLOYER, '    "Microsoft.KeyVault/vaults/write",\n', '');
    expect(show(checkDeployerRole(vault, deployerRule))).toEqual([
      expect.stringContaining(
        'lacks Microsoft.KeyVault/vaults/write, needed by infra/modules/key-vault.bicep',
      ),
    ]);
    const added = infra.map((file) =>
      file.path === 'infra/modules/monitoring.bicep'
        ? {
            ...file,
            text: `${file.text}\nresource bus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {\n  name: 'sb'\n  location: location\n}\n`,
          }
        : file,
    );
    expect(show(checkDeployerRole(added, deployerRule))).toEqual([
      expect.stringContaining('lacks Microsoft.ServiceBus/namespaces/read'),
      expect.stringContaining('lacks Microsoft.ServiceBus/namespaces/write'),
      expect.stringContaining('lacks Microsoft.ServiceBus/register/action'),
    ]);
    const broad = mutate(DEPLOYER, '"Microsoft.Web/sites/write",', '"Microsoft.Web/sites/write",\n    "*",');
    expect(show(checkDeployerRole(broad, deployerRule))).toEqual([
      expect.stringContaining('wildcard action *'),
    ]);
    const extra = mutate(
      DEPLOYER,
      '"Microsoft.Web/sites/write",',
      '"Microsoft.Web/sites/write",\n    "Microsoft.Web/sites/config/list/Action",',
    );
    expect(show(checkDeployerRole(extra, deployerRule))).toEqual([
      expect.stringContaining('holds Microsoft.Web/sites/config/list/Action, which nothing deployed needs'),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The hooks, against a stand-in az

const HOOKS = 'infra/scripts/azd-hooks.mjs';
const DEPLOYMENT_SUB = '11111111-1111-4111-8111-111111111111';
const TARGET_SUB = '22222222-2222-4222-8222-222222222222';
const TARGET_RG = `/subscriptions/${TARGET_SUB}/resourceGroups/rg-apps`;
const CLUSTER = `/subscriptions/${TARGET_SUB}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks1`;
const SCAN_SUB = '33333333-3333-4333-8333-333333333333';

const OWNER = [{ actions: ['*'], notActions: [] }];
const CONTRIBUTOR_AND_USER_ACCESS_ADMINISTRATOR = [
  {
    actions: ['*'],
    notActions: [
      'Microsoft.Authorization/*/Delete',
      'Microsoft.Authorization/*/Write',
      'Microsoft.Authorization/elevateAccess/Action',
    ],
  },
  { actions: ['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*'], notActions: [] },
];
const RBAC_ADMINISTRATOR = [
  {
    actions: [
      'Microsoft.Authorization/roleAssignments/write',
      'Microsoft.Authorization/roleAssignments/delete',
      '*/read',
      'Microsoft.Support/*',
    ],
    notActions: [],
  },
];

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface HookRun {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: string[][];
  seconds: number;
}

function runHook(command: string, values: Record<string, string>, scenario: object): HookRun {
  const dir = mkdtempSync(join(tmpdir(), 'fake-az-'));
  temporary.push(dir);
  const fake = join(root, 'test/fixtures/fake-az/fake-az.mjs');
  writeFileSync(join(dir, 'az'), `#!/bin/sh\nexec "${process.execPath}" "${fake}" "$@"\n`);
  chmodSync(join(dir, 'az'), 0o755);
  writeFileSync(join(dir, 'scenario.json'), JSON.stringify(scenario));
  const started = Date.now();
  const result = spawnSync(process.execPath, [join(root, HOOKS), command], {
    encoding: 'utf8',
    // Only what the test gives: nothing of the machine's own azd or Azure settings leaks in.
    env: {
      PATH: `${dir}${delimiter}${process.env.PATH ?? ''}`,
      FAKE_AZ_SCENARIO: join(dir, 'scenario.json'),
      FAKE_AZ_LOG: join(dir, 'calls.log'),
      APPROVER_HOOK_POLL_SECONDS: '0',
      ...values,
    },
  });
  // No log: the hook never ran az.
  const log = existsSync(join(dir, 'calls.log')) ? readFileSync(join(dir, 'calls.log'), 'utf8') : '';
  const calls = log
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as string[]);
  return { ...result, calls, seconds: (Date.now() - started) / 1000 };
}

const ENVIRONMENT = {
  AZURE_ENV_NAME: 'approver-test',
  AZURE_LOCATION: 'swedencentral',
  AZURE_SUBSCRIPTION_ID: DEPLOYMENT_SUB,
  APPROVER_TARGET_RESOURCE_GROUP_IDS: TARGET_RG,
  APPROVER_TARGET_CLUSTER_IDS: CLUSTER,
  DISCOVERY_SCOPES: `${SCAN_SUB},/providers/Microsoft.Management/managementGroups/mg1`,
};
const ACCOUNT = { user: { name: 'deployer@contoso.com' } };
const permissionUrls = (run: HookRun): string[] =>
  run.calls
    .filter((c) => c[0] === 'rest')
    .map(
      (c) =>
        (c[c.indexOf('--url') + 1] ?? '').split('/providers/Microsoft.Authorization/permissions')[0] ?? '',
    );

describe('azure.yaml runs the hooks, in both shells', () => {
  it('preup checks the rights, preprovision checks them and creates the roles first, postprovision waits', () => {
    const azure = parseYaml(read('azure.yaml')) as {
      hooks: Record<
        string,
        Record<'posix' | 'windows', { shell: string; run: string; continueOnError: boolean }>
      >;
    };
    const expected = { preup: 'check-rights', preprovision: 'preprovision', postprovision: 'grant-settle' };
    expect(Object.keys(azure.hooks).sort()).toEqual(Object.keys(expected).sort());
    for (const [hook, command] of Object.entries(expected)) {
      expect(azure.hooks[hook]?.posix).toEqual({
        shell: 'sh',
        run: `node ${HOOKS} ${command}`,
        continueOnError: false,
      });
      expect(azure.hooks[hook]?.windows).toEqual({
        shell: 'pwsh',
        run: `node ${HOOKS} ${command}`,
        continueOnError: false,
      });
    }
    expect(read(HOOKS)).toMatch(
      /'check-rights': checkRights,\n\s*'role-definitions': roleDefinitions,\n\s*'grant-settle': grantSettle,\n\s*preprovision:/,
    );
  });
});

describe('check-rights', () => {
  it('checks each scope the deployment writes at, with the actions it needs there', () => {
    const checks = requiredRights(ENVIRONMENT);
    const deployer = (JSON.parse(read(DEPLOYER)) as { Actions: string[] }).Actions;
    expect(checks.map((c) => [c.scope, c.why])).toEqual([
      [`/subscriptions/${DEPLOYMENT_SUB}`, 'deployment subscription'],
      [`/subscriptions/${SCAN_SUB}`, 'target or discovery subscription'],
      [`/subscriptions/${TARGET_SUB}`, "the approver role's assignable scope"],
      [TARGET_RG, 'nested deployment'],
      [`/subscriptions/${TARGET_SUB}/resourceGroups/rg-aks`, 'nested deployment'],
      [TARGET_RG, 'target resource group'],
      [CLUSTER, 'target cluster'],
    ]);
    expect(checks[0]?.actions).toEqual(deployer);
    expect(checks[2]?.actions).toEqual([
      'Microsoft.Authorization/roleDefinitions/read',
      'Microsoft.Authorization/roleDefinitions/write',
    ]);
    expect(checks[3]?.actions).toContain('Microsoft.Resources/deployments/write');
    expect(checks[6]?.actions).toEqual(
      expect.arrayContaining(['Microsoft.Authorization/roleAssignments/write']),
    );
    expect(
      scopesOf({
        APPROVER_TARGET_SUBSCRIPTION_IDS: ` /subscriptions/${TARGET_SUB.toUpperCase()} ,${TARGET_SUB}`,
      }).subscriptionTargets,
    ).toEqual([TARGET_SUB]);
  });

  it('matches actions as Resource Manager does: wildcards, any case, notActions taken away', () => {
    expect(
      actionMatches('Microsoft.Authorization/*/Write', 'Microsoft.Authorization/roleAssignments/write'),
    ).toBe(true);
    expect(actionMatches('*/read', 'Microsoft.Web/sites/read')).toBe(true);
    expect(actionMatches('*/read', 'Microsoft.Web/sites/write')).toBe(false);
    expect(actionMatches('Microsoft.Web/sites.write', 'Microsoft.Web/sitesxwrite')).toBe(false);
    expect(
      holds(
        CONTRIBUTOR_AND_USER_ACCESS_ADMINISTRATOR.slice(0, 1),
        'Microsoft.Authorization/roleDefinitions/write',
      ),
    ).toBe(false);
    expect(
      holds(CONTRIBUTOR_AND_USER_ACCESS_ADMINISTRATOR, 'Microsoft.Authorization/roleDefinitions/write'),
    ).toBe(true);
    expect(holds(RBAC_ADMINISTRATOR, 'Microsoft.Resources/deployments/write')).toBe(false);
  });

  it('passes an account that holds everything, having asked at every scope', () => {
    const run = runHook('check-rights', ENVIRONMENT, { account: ACCOUNT, permissions: { '*': OWNER } });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('every right is there');
    expect(new Set(permissionUrls(run))).toEqual(new Set(requiredRights(ENVIRONMENT).map((c) => c.scope)));
  });

  it('fails before anything is deployed, naming each missing right and where (RBAC Administrator is not enough)', () => {
    const run = runHook('check-rights', ENVIRONMENT, {
      account: ACCOUNT,
      permissions: {
        [`/subscriptions/${DEPLOYMENT_SUB}`]: CONTRIBUTOR_AND_USER_ACCESS_ADMINISTRATOR,
        [`/subscriptions/${SCAN_SUB}`]: OWNER,
        [`/subscriptions/${TARGET_SUB}`]: OWNER,
        [TARGET_RG.toLowerCase()]: RBAC_ADMINISTRATOR,
        [`/subscriptions/${TARGET_SUB}/resourcegroups/rg-aks`]: OWNER,
        [CLUSTER.toLowerCase()]: OWNER,
      },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('deployer@contoso.com lacks 2 right(s)');
    expect(run.stderr).toContain(
      `${TARGET_RG} (nested deployment): Microsoft.Resources/deployments/validate/action`,
    );
    expect(run.stderr).toContain(`${TARGET_RG} (nested deployment): Microsoft.Resources/deployments/write`);
    expect(run.stderr).toContain('Nothing was deployed');
    expect(run.calls.some((c) => c[0] === 'deployment')).toBe(false);
  });

  it('refuses to check the rights of an az account that is not the one azd deploys as', () => {
    const scenario = {
      account: ACCOUNT,
      permissions: { '*': OWNER },
      objectId: '11111111-aaaa-4aaa-8aaa-111111111111',
    };
    const other = runHook(
      'check-rights',
      { ...ENVIRONMENT, AZURE_PRINCIPAL_ID: '22222222-bbbb-4bbb-8bbb-222222222222' },
      scenario,
    );
    expect(other.status).toBe(1);
    expect(other.stderr).toContain('az is logged in as deployer@contoso.com (object id 11111111-aaaa');
    expect(other.stderr).toContain('azd config set auth.useAzCliAuth true');
    expect(other.calls.some((c) => c[0] === 'rest')).toBe(false);
    const same = runHook(
      'check-rights',
      { ...ENVIRONMENT, AZURE_PRINCIPAL_ID: '11111111-AAAA-4AAA-8AAA-111111111111' },
      scenario,
    );
    expect(same.status, same.stderr).toBe(0);
    expect(same.stdout).not.toContain('has not said who deploys');
  });

  it('fails, saying what to do, when az is not logged in; APPROVER_SKIP_HOOKS skips without asking Azure', () => {
    const loggedOut = runHook('check-rights', ENVIRONMENT, { loggedOut: true, permissions: {} });
    expect(loggedOut.status).toBe(1);
    expect(loggedOut.stderr).toContain("az account show failed: ERROR: Please run 'az login'");
    const skipped = runHook(
      'preprovision',
      { ...ENVIRONMENT, APPROVER_SKIP_HOOKS: 'true' },
      { permissions: {} },
    );
    expect(skipped.status).toBe(0);
    expect(skipped.stdout).toContain('skipped (APPROVER_SKIP_HOOKS)');
    expect(skipped.calls).toEqual([]);
  });
});

const APPROVER_GUID = 'aaaaaaaa-0000-4000-8000-000000000001';
const DISCOVERY_GUID = 'dddddddd-0000-4000-8000-000000000002';
const ROLES_DEPLOYMENT = {
  properties: {
    outputs: {
      APPROVER_ROLE_DEFINITION_GUID: { type: 'String', value: APPROVER_GUID },
      APPROVER_ROLE_WAIT_SUBSCRIPTIONS: { type: 'Array', value: [TARGET_SUB] },
      DISCOVERY_ROLE_DEFINITION_GUID: { type: 'String', value: DISCOVERY_GUID },
      DISCOVERY_ROLE_WAIT_SUBSCRIPTIONS: { type: 'Array', value: [SCAN_SUB] },
    },
  },
};

describe('role-definitions (RoleDefinitionDoesNotExist on the first provision)', () => {
  it('creates the roles through role-definitions.bicep, with all its parameters, then waits until each subscription shows them', () => {
    const run = runHook('role-definitions', ENVIRONMENT, {
      deployment: ROLES_DEPLOYMENT,
      definitionsVisibleAtCall: 3,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('first provision of this environment');
    const create = run.calls.find((c) => c[0] === 'deployment') ?? [];
    expect(create.slice(0, 3)).toEqual(['deployment', 'sub', 'create']);
    expect(create[create.indexOf('--template-file') + 1]).toBe(join(root, ROLE_DEFINITIONS_PATH));
    const file = JSON.parse(create[create.indexOf('--parameters') + 1] ?? '{}') as {
      parameters: Record<string, { value: string }>;
    };
    expect(file.parameters.targetResourceGroupIds?.value).toBe(TARGET_RG);
    expect(file.parameters.targetSubscriptionIds?.value).toBe('');
    const given = Object.keys(file.parameters);
    expect(given.sort()).toEqual(
      paramsOf(read(ROLE_DEFINITIONS_PATH))
        .map((p) => p.name)
        .sort(),
    );
    const gets = run.calls.filter((c) => c[0] === 'rest').map((c) => c[c.indexOf('--url') + 1] ?? '');
    for (const [subscription, guid] of [
      [TARGET_SUB, APPROVER_GUID],
      [SCAN_SUB, DISCOVERY_GUID],
    ]) {
      const asked = gets.filter((u) =>
        u.startsWith(
          `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/${guid}?`,
        ),
      );
      expect(asked).toHaveLength(3);
    }
    expect(run.stdout).toContain('every subscription that gets an assignment shows the roles');
  });

  it('gives up after APPROVER_ROLE_WAIT_SECONDS with what to do', () => {
    const run = runHook(
      'role-definitions',
      { ...ENVIRONMENT, APPROVER_ROLE_WAIT_SECONDS: '0' },
      { deployment: ROLES_DEPLOYMENT, definitionsVisibleAtCall: 99 },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `not yet visible in: ${TARGET_SUB} (role ${APPROVER_GUID}), ${SCAN_SUB} (role ${DISCOVERY_GUID})`,
    );
    expect(run.stderr).toContain('Run azd provision again in a few minutes');
  });

  it('runs only when a subscription gets a role for the first time', () => {
    const provisioned = {
      ...ENVIRONMENT,
      APPROVER_ROLE_DEFINITION_ID: `/subscriptions/${DEPLOYMENT_SUB}/providers/Microsoft.Authorization/roleDefinitions/${APPROVER_GUID}`,
      APPROVER_ROLE_ASSIGNABLE_SCOPES: JSON.stringify([
        `/subscriptions/${DEPLOYMENT_SUB}`,
        `/subscriptions/${TARGET_SUB}`,
      ]),
      DISCOVERY_ROLE_ASSIGNABLE_SCOPES: JSON.stringify([
        `/subscriptions/${DEPLOYMENT_SUB}`,
        `/subscriptions/${SCAN_SUB}`,
      ]),
    };
    expect(roleDefinitionsReason(provisioned)).toBeUndefined();
    const run = runHook('role-definitions', provisioned, {});
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([]);
    const NEW_SUB = '44444444-4444-4444-8444-444444444444';
    expect(roleDefinitionsReason({ ...provisioned, APPROVER_TARGET_SUBSCRIPTION_IDS: NEW_SUB })).toBe(
      `subscription ${NEW_SUB} gets the approver role for the first time`,
    );
    expect(roleDefinitionsReason({ ...provisioned, DISCOVERY_SCOPES: NEW_SUB })).toBe(
      `subscription ${NEW_SUB} gets the discovery role for the first time`,
    );
    expect(roleDefinitionsReason({ ...provisioned, APPROVER_ROLES_FIRST: 'always' })).toBe(
      'APPROVER_ROLES_FIRST=always',
    );
  });
});

describe('grant-settle (the package identity has had time before the first deploy)', () => {
  const container = `/subscriptions/${DEPLOYMENT_SUB}/resourceGroups/rg-approver-test/providers/Microsoft.Storage/storageAccounts/st1/blobServices/default/containers/app-package-abc`;
  const principal = '55555555-5555-4555-8555-555555555555';
  const values = { DEPLOYMENT_IDENTITY_PRINCIPAL_ID: principal, DEPLOYMENT_CONTAINER_ID: container };
  const grant = (ageSeconds: number): object => ({
    properties: {
      principalId: principal,
      scope: container,
      createdOn: new Date(Date.now() - ageSeconds * 1000).toISOString(),
    },
  });

  it('goes on at once when the grant is old enough', () => {
    const run = runHook('grant-settle', values, { assignments: [grant(900)] });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('s old; deploying');
  });

  it('waits out the rest of APPROVER_GRANT_SETTLE_SECONDS when it is younger', () => {
    const run = runHook(
      'grant-settle',
      { ...values, APPROVER_GRANT_SETTLE_SECONDS: '3' },
      { assignments: [grant(1)] },
    );
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/waiting [12] s more/);
    expect(run.seconds).toBeGreaterThanOrEqual(1);
  });

  it('gives a grant without a creation time the whole settle time', () => {
    const undated = { properties: { principalId: principal, scope: container } };
    const run = runHook(
      'grant-settle',
      { ...values, APPROVER_GRANT_SETTLE_SECONDS: '2' },
      { assignments: [undated] },
    );
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('waiting 2 s more');
    expect(run.seconds).toBeGreaterThanOrEqual(2);
  });

  it('fails, bounded, when the grant never shows, and without the outputs of a provision', () => {
    const none = runHook('grant-settle', { ...values, APPROVER_ROLE_WAIT_SECONDS: '0' }, { assignments: [] });
    expect(none.status).toBe(1);
    expect(none.stderr).toContain(`no role assignment for ${principal}`);
    const unprovisioned = runHook('grant-settle', {}, {});
    expect(unprovisioned.status).toBe(1);
    expect(unprovisioned.stderr).toContain(
      'DEPLOYMENT_IDENTITY_PRINCIPAL_ID or DEPLOYMENT_CONTAINER_ID is missing',
    );
  });
});

describe('docs/deploy.md: the rights per scope and the first deployment in the order it runs', () => {
  const docs = read('docs/deploy.md');
  const section = docs.slice(docs.indexOf('## 2. First deployment'), docs.indexOf('## 3.'));

  it('lists the rights per scope, ships them as roles, and drops the old claim', () => {
    expect(docs).not.toMatch(/Contributor plus\s+Role Based Access Control Administrator/);
    for (const text of [
      DEPLOYER,
      TARGET,
      'Microsoft.Resources/deployments/write',
      'Microsoft.Authorization/roleDefinitions/write',
      'Microsoft.Authorization/roleAssignments/write',
      'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
    ])
      expect(section).toContain(text);
    for (const scope of [
      'deployment subscription',
      'target subscription',
      'target resource group',
      'target cluster',
    ])
      expect(section.toLowerCase()).toContain(scope);
  });

  it('lists the steps of azd up in the order they run, with each wait and its setting', () => {
    const steps = section.slice(section.indexOf('### What `azd up` runs, in order'));
    const order = ['`preup`', '`prepackage`', '`preprovision`', '`postprovision`', '**Deploy.**'].map((s) =>
      steps.indexOf(s),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    for (const setting of [
      'APPROVER_ROLE_WAIT_SECONDS',
      'APPROVER_GRANT_SETTLE_SECONDS',
      'APPROVER_SKIP_HOOKS',
      'RoleDefinitionDoesNotExist',
    ])
      expect(steps).toContain(setting);
  });
});
