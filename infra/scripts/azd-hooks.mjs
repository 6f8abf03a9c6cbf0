// The azd hooks of azure.yaml (docs/deploy.md, section 2, has the order they run in and why):
//
//   node infra/scripts/azd-hooks.mjs check-rights      preup (and preprovision): does the `az` account hold every
//                                                      action of infra/deployer-role.json in the deployment
//                                                      subscription, and of infra/deployer-target-role.json at
//                                                      each target and discovery scope? Names each one missing.
//   node infra/scripts/azd-hooks.mjs role-definitions  preprovision: creates the custom roles first (through
//                                                      infra/role-definitions.bicep) when a subscription that
//                                                      gets an assignment has not seen them yet, then waits
//                                                      until each one shows them (RoleDefinitionDoesNotExist).
//   node infra/scripts/azd-hooks.mjs grant-settle      postprovision: waits until the deployment identity's
//                                                      grant on the package container is old enough to apply.
//   node infra/scripts/azd-hooks.mjs preprovision      check-rights, then role-definitions.
//
// APPROVER_SKIP_HOOKS=true skips them all, for a pipeline without `az`: it then owns the rights and the waits.
//
// One script for both shells (azure.yaml runs it from sh and from pwsh), in plain JavaScript with no
// dependency: it runs before `npm ci` may have run and before anything is built. It talks to Azure only
// through `az` (the deployer's own login), and reads the azd environment values azd passes to every hook.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const infra = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const AUTHORIZATION_API = '2022-04-01';

const seconds = (name, fallback) => {
  const value = Number(env[name] ?? '');
  return env[name] !== undefined && env[name].trim() !== '' && Number.isFinite(value) && value >= 0
    ? value
    : fallback;
};
// How long each wait may last, and how often it asks; small values are for the tests.
const POLL_SECONDS = seconds('APPROVER_HOOK_POLL_SECONDS', 15);
const ROLE_WAIT_SECONDS = seconds('APPROVER_ROLE_WAIT_SECONDS', 900);
const GRANT_SETTLE_SECONDS = seconds('APPROVER_GRANT_SETTLE_SECONDS', 300);

class HookError extends Error {}

const say = (line) => process.stdout.write(`${line}\n`);
const sleep = (s) => new Promise((resolve) => setTimeout(resolve, s * 1000));
const list = (value) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
const unique = (values) => [...new Map(values.map((v) => [v.toLowerCase(), v])).values()];

/** A hung az (a stuck login prompt, a dead proxy) must not hang `azd up`: each call gets two minutes. */
const AZ_OPTIONS = { encoding: 'utf8', timeout: 120_000 };

/** Runs `az …` and returns its parsed JSON output; throws HookError with az's own message when it fails. */
function az(args) {
  const windows = process.platform === 'win32';
  // On Windows az is az.cmd, which Node starts only through the shell; every argument is then quoted.
  const result = windows
    ? spawnSync(['az', ...args].map((a) => `"${a}"`).join(' '), { shell: true, ...AZ_OPTIONS })
    : spawnSync('az', args, AZ_OPTIONS);
  if (result.error !== undefined) {
    throw new HookError(`cannot run az (${result.error.message}); install the Azure CLI and run az login`);
  }
  if (result.status !== 0) {
    throw new HookError(`az ${args.slice(0, 2).join(' ')} failed: ${(result.stderr ?? '').trim()}`);
  }
  const out = (result.stdout ?? '').trim();
  return out === '' ? null : JSON.parse(out);
}

/** GET through `az rest` (the cloud's Resource Manager, the az login's token), following nextLink. */
function armGetAll(path) {
  const values = [];
  let url = path;
  while (url) {
    const page = az(['rest', '--method', 'get', '--url', url, '--output', 'json']);
    values.push(...(page?.value ?? []));
    url = page?.nextLink;
  }
  return values;
}

/** GET one resource, or undefined when Resource Manager answers 404 / not found. */
function armGet(path) {
  try {
    return az(['rest', '--method', 'get', '--url', path, '--output', 'json']);
  } catch (error) {
    if (error instanceof HookError && /\b(404|NotFound|RoleDefinitionDoesNotExist)\b/i.test(error.message)) {
      return undefined;
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------
// What the deployment touches, worked out from the azd values exactly as main.bicep splits them.

/** The scopes of this environment, as main.bicep derives them from the same azd values. */
export function scopesOf(values) {
  const deployment = (values.AZURE_SUBSCRIPTION_ID ?? '').trim().toLowerCase();
  const subscriptionTargets = unique(
    list(values.APPROVER_TARGET_SUBSCRIPTION_IDS).map((s) =>
      (s.toLowerCase().startsWith('/subscriptions/') ? s.split('/')[2] : s).toLowerCase(),
    ),
  );
  const resourceGroupTargets = unique(list(values.APPROVER_TARGET_RESOURCE_GROUP_IDS));
  const clusterTargets = unique(list(values.APPROVER_TARGET_CLUSTER_IDS));
  const subscriptionOf = (id) => id.split('/')[2].toLowerCase();
  const resourceGroupOf = (id) => id.split('/').slice(0, 5).join('/');
  const discoverySubscriptions = unique(
    list(values.DISCOVERY_SCOPES)
      .filter((s) => !s.startsWith('/'))
      .map((s) => s.toLowerCase()),
  );
  const targetSubscriptions = unique([
    ...subscriptionTargets,
    ...resourceGroupTargets.map(subscriptionOf),
    ...clusterTargets.map(subscriptionOf),
  ]);
  return {
    deployment,
    subscriptionTargets,
    resourceGroupTargets,
    clusterTargets,
    clusterResourceGroups: unique(clusterTargets.map(resourceGroupOf)),
    targetSubscriptions,
    discoverySubscriptions,
  };
}

const readRole = (file) => JSON.parse(readFileSync(join(infra, file), 'utf8'));

/**
 * Each scope the deployment writes at, with the actions it needs there: the whole deployer role in the
 * deployment subscription; at a subscription that is a target or is scanned, the whole target role; at the
 * subscription of a resource group or cluster target, the custom role's assignable scope (roleDefinitions); at
 * such a resource group, the nested deployment; at the resource group or cluster, the assignment itself.
 */
export function requiredRights(values) {
  const scopes = scopesOf(values);
  const deployer = readRole('deployer-role.json').Actions;
  const target = readRole('deployer-target-role.json').Actions;
  const only = (pattern) => target.filter((a) => pattern.test(a));
  const definitions = only(/^Microsoft\.Authorization\/roleDefinitions\//i);
  const deployments = only(/^Microsoft\.Resources\//i);
  const assignments = only(/^Microsoft\.Authorization\/roleAssignments\//i);
  const sub = (id) => `/subscriptions/${id}`;
  const wholeSubscriptions = unique([...scopes.subscriptionTargets, ...scopes.discoverySubscriptions]);
  const checks = [{ scope: sub(scopes.deployment), why: 'deployment subscription', actions: deployer }];
  for (const id of wholeSubscriptions)
    checks.push({ scope: sub(id), why: 'target or discovery subscription', actions: target });
  for (const id of scopes.targetSubscriptions.filter((s) => !wholeSubscriptions.includes(s)))
    checks.push({ scope: sub(id), why: "the approver role's assignable scope", actions: definitions });
  for (const id of unique([...scopes.resourceGroupTargets, ...scopes.clusterResourceGroups]))
    checks.push({ scope: id, why: 'nested deployment', actions: deployments });
  for (const id of scopes.resourceGroupTargets)
    checks.push({ scope: id, why: 'target resource group', actions: assignments });
  for (const id of scopes.clusterTargets)
    checks.push({
      scope: id,
      why: 'target cluster',
      actions: [...assignments, ...only(/^Microsoft\.ContainerService\//i)],
    });
  return checks;
}

/** Resource Manager's wildcard match: case-insensitive, `*` stands for any run of characters. */
export function actionMatches(pattern, action) {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i').test(action);
}

/** An action is held when one permission set grants it and does not take it away again (notActions). */
export function holds(permissions, action) {
  return permissions.some(
    (p) =>
      (p.actions ?? []).some((a) => actionMatches(a, action)) &&
      !(p.notActions ?? []).some((n) => actionMatches(n, action)),
  );
}

// ---------------------------------------------------------------------------------------------------------
// check-rights

/**
 * The rights checked are the az login's, and azd deploys with its own login unless told to use az's: when azd
 * has said who it is (AZURE_PRINCIPAL_ID, after its first provision), a different az account is refused rather
 * than checked. The az account's object id is the `oid` of its own Resource Manager token (no Graph call).
 */
/** The `oid` claim of a JWT (its payload only: the token is az's own, not checked here); '' when absent. */
function tokenObjectId(token) {
  try {
    return String(JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).oid ?? '');
  } catch {
    return '';
  }
}

function sameAccountAsAzd(who) {
  const azd = (env.AZURE_PRINCIPAL_ID ?? '').trim().toLowerCase();
  const token = az(['account', 'get-access-token', '--output', 'json'])?.accessToken ?? '';
  const oid = tokenObjectId(token);
  if (azd === '' || oid === '') {
    say(
      'check-rights: azd has not said who deploys yet (AZURE_PRINCIPAL_ID), so this checks the az login: make' +
        ' sure it is the deploying account, or `azd config set auth.useAzCliAuth true`.',
    );
    return;
  }
  if (oid.toLowerCase() !== azd) {
    throw new HookError(
      `az is logged in as ${who} (object id ${oid}), but azd deploys as object id ${azd} (AZURE_PRINCIPAL_ID):` +
        " the rights checked would not be the deployer's. Log az in as the deploying account, or let azd use" +
        " az's login: azd config set auth.useAzCliAuth true. Nothing was deployed.",
    );
  }
}

function checkRights() {
  if ((env.AZURE_SUBSCRIPTION_ID ?? '').trim() === '') {
    throw new HookError('AZURE_SUBSCRIPTION_ID is not set: azd env set AZURE_SUBSCRIPTION_ID <id>');
  }
  const account = az(['account', 'show', '--output', 'json']);
  const who = account?.user?.name ?? 'the az login';
  sameAccountAsAzd(who);
  say(`check-rights: the rights of ${who} (az login), scope by scope:`);
  const missing = [];
  for (const check of requiredRights(env)) {
    let permissions;
    try {
      permissions = armGetAll(
        `${check.scope}/providers/Microsoft.Authorization/permissions?api-version=${AUTHORIZATION_API}`,
      );
    } catch (error) {
      if (!(error instanceof HookError)) throw error;
      missing.push(`${check.scope} (${check.why}): cannot read your permissions there: ${error.message}`);
      continue;
    }
    const lacking = check.actions.filter((action) => !holds(permissions, action));
    say(`  ${lacking.length === 0 ? 'ok     ' : 'MISSING'} ${check.scope} (${check.why})`);
    for (const action of lacking) missing.push(`${check.scope} (${check.why}): ${action}`);
  }
  if (missing.length > 0) {
    throw new HookError(
      [
        `${who} lacks ${missing.length} right(s) this deployment needs:`,
        ...missing.map((m) => `  - ${m}`),
        'Grant them (docs/deploy.md, section 2: infra/deployer-role.json and infra/deployer-target-role.json),',
        'or, if az is logged in as someone else than azd, log az in as the deploying account.',
        'Nothing was deployed. Conditions and deny assignments are not visible to this check.',
      ].join('\n'),
    );
  }
  say('check-rights: every right is there.');
}

// ---------------------------------------------------------------------------------------------------------
// role-definitions

const parseArray = (value) => {
  try {
    const parsed = JSON.parse(value ?? '');
    return Array.isArray(parsed) ? parsed.map((s) => String(s).toLowerCase()) : [];
  } catch {
    return [];
  }
};

/** Why the role definitions must be created ahead of the main deployment, or undefined when they need not. */
export function roleDefinitionsReason(values) {
  const mode = (values.APPROVER_ROLES_FIRST ?? 'auto').toLowerCase();
  if (mode === 'never') return undefined;
  if (mode === 'always') return 'APPROVER_ROLES_FIRST=always';
  const scopes = scopesOf(values);
  if ((values.APPROVER_ROLE_DEFINITION_ID ?? '').trim() === '') return 'first provision of this environment';
  const approverScopes = parseArray(values.APPROVER_ROLE_ASSIGNABLE_SCOPES);
  const newTarget = scopes.targetSubscriptions.find((s) => !approverScopes.includes(`/subscriptions/${s}`));
  if (newTarget !== undefined) return `subscription ${newTarget} gets the approver role for the first time`;
  const discoveryScopes = parseArray(values.DISCOVERY_ROLE_ASSIGNABLE_SCOPES);
  const newScan = scopes.discoverySubscriptions.find((s) => !discoveryScopes.includes(`/subscriptions/${s}`));
  if (newScan !== undefined) return `subscription ${newScan} gets the discovery role for the first time`;
  return undefined;
}

async function roleDefinitions() {
  const reason = roleDefinitionsReason(env);
  if (reason === undefined) {
    say('role-definitions: every subscription that gets an assignment already has the roles; nothing to do.');
    return;
  }
  for (const name of ['AZURE_ENV_NAME', 'AZURE_LOCATION', 'AZURE_SUBSCRIPTION_ID']) {
    if ((env[name] ?? '').trim() === '') throw new HookError(`${name} is not set (azd env set ${name} …)`);
  }
  say(`role-definitions: ${reason}; creating the custom roles before the main deployment.`);
  const parameters = {
    environmentName: env.AZURE_ENV_NAME,
    location: env.AZURE_LOCATION,
    targetSubscriptionIds: env.APPROVER_TARGET_SUBSCRIPTION_IDS ?? '',
    targetResourceGroupIds: env.APPROVER_TARGET_RESOURCE_GROUP_IDS ?? '',
    targetClusterIds: env.APPROVER_TARGET_CLUSTER_IDS ?? '',
    // Unset: the templates' default. Set but empty: passed on, for the templates to refuse (never every type).
    enabledResourceTypes: env.ENABLED_RESOURCE_TYPES ?? 'Microsoft.ContainerService/managedClusters',
    discoveryScopes: env.DISCOVERY_SCOPES ?? '',
  };
  // A parameter file rather than key=value arguments: empty values and commas pass unchanged in every shell.
  const parameterFile = join(mkdtempSync(join(tmpdir(), 'approver-roles-')), 'parameters.json');
  writeFileSync(
    parameterFile,
    JSON.stringify({
      $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#',
      contentVersion: '1.0.0.0',
      parameters: Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, { value: v }])),
    }),
  );
  let deployment;
  try {
    deployment = az([
      'deployment',
      'sub',
      'create',
      '--name',
      `approver-roles-${env.AZURE_ENV_NAME}`,
      '--subscription',
      env.AZURE_SUBSCRIPTION_ID,
      '--location',
      env.AZURE_LOCATION,
      '--template-file',
      join(infra, 'role-definitions.bicep'),
      '--parameters',
      `@${parameterFile}`,
      '--output',
      'json',
    ]);
  } finally {
    rmSync(dirname(parameterFile), { recursive: true, force: true });
  }
  const outputs = deployment?.properties?.outputs ?? {};
  const value = (name) => outputs[name]?.value ?? outputs[name.toLowerCase()]?.value;
  const pending = [
    ...(value('APPROVER_ROLE_WAIT_SUBSCRIPTIONS') ?? []).map((s) => [
      s,
      value('APPROVER_ROLE_DEFINITION_GUID'),
    ]),
    ...(value('DISCOVERY_ROLE_WAIT_SUBSCRIPTIONS') ?? []).map((s) => [
      s,
      value('DISCOVERY_ROLE_DEFINITION_GUID'),
    ]),
  ];
  await waitForDefinitions(pending);
}

/** Waits, at most ROLE_WAIT_SECONDS, until each subscription shows its definition with itself assignable. */
async function waitForDefinitions(pending) {
  const started = Date.now();
  let left = pending.filter(([, guid]) => guid);
  while (left.length > 0) {
    left = left.filter(([subscription, guid]) => {
      const definition = armGet(
        `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/${guid}?api-version=${AUTHORIZATION_API}`,
      );
      const scopes = (definition?.properties?.assignableScopes ?? []).map((s) => s.toLowerCase());
      return !scopes.includes(`/subscriptions/${subscription}`.toLowerCase());
    });
    if (left.length === 0) break;
    const waited = Math.round((Date.now() - started) / 1000);
    if (waited >= ROLE_WAIT_SECONDS) {
      throw new HookError(
        [
          `role-definitions: after ${waited} s, not yet visible in: ${left.map(([s, g]) => `${s} (role ${g})`).join(', ')}.`,
          'A new custom role reaches other subscriptions with a delay. Run azd provision again in a few minutes;',
          `APPROVER_ROLE_WAIT_SECONDS (now ${ROLE_WAIT_SECONDS}) sets how long this waits.`,
        ].join('\n'),
      );
    }
    say(
      `role-definitions: waiting for ${left.map(([s]) => s).join(', ')} to show the role (${waited} s so far)`,
    );
    await sleep(POLL_SECONDS);
  }
  say('role-definitions: every subscription that gets an assignment shows the roles.');
}

// ---------------------------------------------------------------------------------------------------------
// grant-settle

async function grantSettle() {
  const principal = (env.DEPLOYMENT_IDENTITY_PRINCIPAL_ID ?? '').trim().toLowerCase();
  const container = (env.DEPLOYMENT_CONTAINER_ID ?? '').trim();
  if (principal === '' || container === '') {
    throw new HookError(
      'DEPLOYMENT_IDENTITY_PRINCIPAL_ID or DEPLOYMENT_CONTAINER_ID is missing: run azd provision',
    );
  }
  const started = Date.now();
  for (;;) {
    const grant = armGetAll(
      `${container}/providers/Microsoft.Authorization/roleAssignments?api-version=${AUTHORIZATION_API}`,
    ).find(
      (a) =>
        (a.properties?.principalId ?? '').toLowerCase() === principal &&
        (a.properties?.scope ?? '').toLowerCase() === container.toLowerCase(),
    );
    const waited = (Date.now() - started) / 1000;
    if (grant !== undefined) {
      // A grant whose creation time is not given counts as made just now: it gets the whole settle time.
      const created = Date.parse(grant.properties?.createdOn ?? '');
      const age = Number.isFinite(created) ? (Date.now() - created) / 1000 : 0;
      const rest = Math.ceil(GRANT_SETTLE_SECONDS - age);
      if (rest <= 0) {
        say(`grant-settle: the deployment identity's grant is ${Math.round(age)} s old; deploying.`);
        return;
      }
      say(
        `grant-settle: the deployment identity's grant on the package container is ${Math.round(age)} s old;` +
          ` waiting ${rest} s more so that the first deploy is not refused (APPROVER_GRANT_SETTLE_SECONDS).`,
      );
      await sleep(rest);
      return;
    }
    if (waited >= ROLE_WAIT_SECONDS) {
      throw new HookError(
        `grant-settle: no role assignment for ${principal} at ${container} after ${Math.round(waited)} s`,
      );
    }
    await sleep(POLL_SECONDS);
  }
}

// ---------------------------------------------------------------------------------------------------------

const commands = {
  'check-rights': checkRights,
  'role-definitions': roleDefinitions,
  'grant-settle': grantSettle,
  preprovision: async () => {
    checkRights();
    await roleDefinitions();
  },
};

async function main(name) {
  const command = commands[name];
  if (command === undefined) {
    throw new HookError(`usage: node infra/scripts/azd-hooks.mjs <${Object.keys(commands).join('|')}>`);
  }
  if (/^(1|true|yes)$/i.test(env.APPROVER_SKIP_HOOKS ?? '')) {
    say(`${name}: skipped (APPROVER_SKIP_HOOKS). docs/deploy.md, section 2, says what it would have done.`);
    return;
  }
  await command();
}

// Run as a hook; imported (by the tests), it only exports the functions above.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv[2]).catch((error) => {
    process.stderr.write(`${error instanceof HookError ? error.message : (error?.stack ?? error)}\n`);
    process.exit(1);
  });
}
