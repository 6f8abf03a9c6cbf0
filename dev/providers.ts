import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import type { ProviderType } from '../src/model/provider-registry.js';
import { actionsOf, PROVIDERS } from '../src/model/provider-registry.js';

/**
 * `npm run providers`: writes what is generated from the provider registry — docs/providers.md (for people),
 * infra/providers.json (the RBAC actions per type, which infra/main.bicep grants the approver for the enabled
 * types) and infra/discovery-actions.json (the reads a discovery scan makes per type, which infra/ grants the
 * discovery reader for the enabled types). Unit tests render them again and fail when a checked-in file differs,
 * so the registry stays the one source.
 */

export const PROVIDERS_DOC = 'docs/providers.md';
export const PROVIDERS_JSON = 'infra/providers.json';
export const DISCOVERY_JSON = 'infra/discovery-actions.json';

const COMPLETION: Record<ProviderType['completion'], string> = {
  sync: 'synchronous',
  'azure-async-operation': 'long-running (Azure-AsyncOperation)',
  location: 'long-running (Location)',
  accepted: 'long-running (202, connection polled)',
};

/**
 * What a discovery scan of one type reads. Resource Graph only returns resources the caller may read, hence the
 * type's own read; and the connections' read, for every type: a type whose body leaves its connections out is
 * listed connection by connection, and any connection is read by its id (Resource Graph lags) before people are
 * asked about it and when its request closes. Nothing here writes: deciding stays with the approver role.
 */
export function discoveryActionsOf(provider: ProviderType): string[] {
  return [`${provider.type}/read`, `${provider.type}/privateEndpointConnections/read`];
}

/** The RBAC actions of every type, keyed by type: what the custom role may grant. */
export function providersJson(): string {
  const actions = Object.fromEntries(PROVIDERS.map((p) => [p.type, actionsOf(p)]));
  return `${JSON.stringify(actions, null, 2)}\n`;
}

/** The reads a discovery scan makes, keyed by type: what the discovery reader may grant. */
export function discoveryJson(): string {
  const actions = Object.fromEntries(PROVIDERS.map((p) => [p.type, discoveryActionsOf(p)]));
  return `${JSON.stringify(actions, null, 2)}\n`;
}

/**
 * The file as prettier lays it out with the project's settings. The npm script formats the other two files
 * itself; doing it here for this one keeps `npm run format:check` and the test that re-renders it agreeing
 * without a change to that script.
 */
export async function formattedDiscoveryJson(): Promise<string> {
  const options = (await resolveConfig(DISCOVERY_JSON)) ?? {};
  return format(discoveryJson(), { ...options, filepath: DISCOVERY_JSON });
}

export function providersDoc(): string {
  const rows = PROVIDERS.map((p) => {
    const statuses = p.statuses === 'free-string' ? 'free string' : p.statuses.join(', ');
    const quirks = p.quirks.length === 0 ? '—' : p.quirks.map((q) => `\`${q}\``).join(', ');
    const source = p.verified ? `spec: \`${p.spec}\`` : `unverified (\`${p.spec}\`)`;
    const actions = actionsOf(p)
      .map((a) => `\`${a}\``)
      .join('<br>');
    const completes = p.restingState
      ? `${COMPLETION[p.completion]}; rests at \`${p.restingState}\``
      : COMPLETION[p.completion];
    return `| \`${p.type}\` | ${p.apiVersion} | ${completes} | ${statuses} | ${quirks} | ${actions} | ${source} |`;
  });
  return [
    '# Supported resource types',
    '',
    '<!-- Generated from src/model/provider-registry.ts by `npm run providers`; do not edit by hand. -->',
    '',
    `The app decides private endpoint connections of these ${PROVIDERS.length} resource types. Each row is one`,
    'entry of the provider registry (`src/model/provider-registry.ts`): the api-version the app calls, how the',
    "provider's PUT completes, the connection statuses its spec names, the quirks the app handles, and the RBAC",
    "actions the app's custom role holds for the type when it is enabled (`ENABLED_RESOURCE_TYPES`, and",
    '`enabledResourceTypes` in `infra/`).',
    '',
    'A row marked _unverified_ was taken from Azure/bicep-types-az (generated from the official specs) rather than',
    "read in the provider's own spec: its api-version exists and is stable but may not be the newest, and its PUT",
    'is treated as synchronous unless Resource Manager answers 201/202 with an operation to poll, which the app',
    'always follows, or shows the connection in a settling state, which the app waits out. Verify a row against',
    'the spec before relying on it, and say so in the row.',
    '',
    'Quirks: `description-required` — the PUT must carry a description (the app writes one when the caller gave',
    'none); `repeat-answers-400` — writing the status a connection already has is refused with 400 (the app reads',
    'it back); `etag-in-body` — the connection carries an `etag` the app never sends back; `decides-pending-only` —',
    'only Pending connections can be decided (the app refuses other transitions itself, 409);',
    "`provisioning-state-is-status` — the connection's provisioning state names its status, so a wait on the",
    'connection ends when it names a status other than the one replaced.',
    '',
    '| type | api-version | PUT completes | statuses | quirks | RBAC actions | source |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Not here, on purpose: `Microsoft.Batch/batchAccounts`, whose connections are decided with PATCH rather than PUT',
    '(its 2025-06-01 spec has no PUT on them), and `Microsoft.Synapse/privateLinkHubs`, whose connections can only be',
    'read. Each would need its own way of writing, not just a row.',
    '',
    'To add a type: add a row to `src/model/provider-registry.ts` (cite the spec file), run `npm run providers`, run',
    '`npm test`. The sandbox serves every row (one resource per type in resource group `rg-providers`), so the',
    'end-to-end test approves and rejects the new type too.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  writeFileSync(PROVIDERS_DOC, providersDoc());
  writeFileSync(PROVIDERS_JSON, providersJson());
  writeFileSync(DISCOVERY_JSON, await formattedDiscoveryJson());
  process.stdout.write(
    `wrote ${PROVIDERS_DOC}, ${PROVIDERS_JSON} and ${DISCOVERY_JSON} (${PROVIDERS.length} types)\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
