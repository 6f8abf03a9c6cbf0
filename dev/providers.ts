import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { ProviderType } from '../src/model/provider-registry.js';
import { actionsOf, PROVIDERS } from '../src/model/provider-registry.js';

/**
 * `npm run providers`: writes what is generated from the provider registry — docs/providers.md (for people) and
 * infra/providers.json (the RBAC actions per type, which infra/main.bicep grants for the enabled types). A unit
 * test renders both again and fails when a checked-in file differs, so the registry stays the one source.
 */

export const PROVIDERS_DOC = 'docs/providers.md';
export const PROVIDERS_JSON = 'infra/providers.json';

const COMPLETION: Record<ProviderType['completion'], string> = {
  sync: 'synchronous',
  'azure-async-operation': 'long-running (Azure-AsyncOperation)',
  location: 'long-running (Location)',
  accepted: 'long-running (202, connection polled)',
};

/** The RBAC actions of every type, keyed by type: what the custom role may grant. */
export function providersJson(): string {
  const actions = Object.fromEntries(PROVIDERS.map((p) => [p.type, actionsOf(p)]));
  return `${JSON.stringify(actions, null, 2)}\n`;
}

export function providersDoc(): string {
  const rows = PROVIDERS.map((p) => {
    const statuses = p.statuses === 'free-string' ? 'free string' : p.statuses.join(', ');
    const quirks = p.quirks.length === 0 ? '—' : p.quirks.map((q) => `\`${q}\``).join(', ');
    const source = p.verified ? `spec: \`${p.spec}\`` : `unverified (\`${p.spec}\`)`;
    const actions = actionsOf(p)
      .map((a) => `\`${a}\``)
      .join('<br>');
    return `| \`${p.type}\` | ${p.apiVersion} | ${COMPLETION[p.completion]} | ${statuses} | ${quirks} | ${actions} | ${source} |`;
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
    'always follows. Verify a row against the spec before relying on it, and say so in the row.',
    '',
    'Quirks: `description-required` — the PUT must carry a description (the app writes one when the caller gave',
    'none); `repeat-answers-400` — writing the status a connection already has is refused with 400 (the app reads',
    'it back); `etag-in-body` — the connection carries an `etag` the app never sends back; `decides-pending-only` —',
    'only Pending connections can be decided (the app refuses other transitions itself, 409).',
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

function main(): void {
  writeFileSync(PROVIDERS_DOC, providersDoc());
  writeFileSync(PROVIDERS_JSON, providersJson());
  process.stdout.write(`wrote ${PROVIDERS_DOC} and ${PROVIDERS_JSON} (${PROVIDERS.length} types)\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
