import type { ErrorObject } from 'ajv';

/**
 * What an invalid setting must look like, in words an operator can act on: the schema's own message (`must match
 * pattern "^https://[^/?#\s]+/?$"`) says what was checked, not what to write.
 */
const BY_NAME: Readonly<Record<string, string>> = {
  ARM_ENDPOINT:
    'must be the https:// address of Resource Manager without a path, e.g. https://management.azure.com',
  KEY_VAULT_URL:
    'must be the https:// address of the vault without a path, e.g. https://<vault>.vault.azure.net',
  ENTRA_AUTHORITY_HOST:
    'must be the https:// address of the Entra authority, e.g. https://login.microsoftonline.com',
  SLACK_API_URL: 'must be an https:// address without a trailing slash, e.g. https://slack.com/api',
  SERVICENOW_INSTANCE_URL:
    'must be the https:// address of the instance, without user name, password, query or fragment, e.g. https://<instance>.service-now.com',
  AZURE_CLIENT_ID: 'must be the client id (a GUID) of the user-assigned managed identity',
  TABLE_PREFIX: 'must be 1-21 letters and digits, starting with a letter',
  DISCOVERY_SCOPES:
    'must be comma-separated subscription ids (GUIDs) and/or /providers/Microsoft.Management/managementGroups/<id>',
  DISCOVERY_SLACK_CHANNEL:
    'must be a Slack channel id (6-20 upper-case letters and digits, e.g. C0123ABCDEF), not its name',
  SERVICENOW_TABLE: 'must be a ServiceNow table name (lower-case letters, digits and _), e.g. change_request',
  SLACK_RESPONSE_URL_HOSTS:
    'must be comma-separated host names (with an optional :port), e.g. hooks.slack.com',
  PORT: 'must be a port number',
};

const UNITS: readonly (readonly [string, string])[] = [
  ['_MS', 'milliseconds'],
  ['_SECONDS', 'seconds'],
  ['_MINUTES', 'minutes'],
  ['_HOURS', 'hours'],
];

/** `NAME: what it must be` for one schema error. */
export function settingProblem(error: ErrorObject): string {
  const name = error.instancePath.replace(/^\//, '');
  return `${name}: ${hintFor(name, error)}`;
}

function hintFor(name: string, error: ErrorObject): string {
  const params = error.params as { allowedValues?: unknown[]; pattern?: string };
  if (error.keyword === 'enum' && Array.isArray(params.allowedValues))
    return `must be one of ${params.allowedValues.join(', ')}`;
  if (error.keyword === 'minLength') return 'must not be blank (leave it unset for the default)';
  const named = BY_NAME[name];
  if (named !== undefined) return named;
  if (name.endsWith('_SCHEDULE')) return 'must be six NCRONTAB fields, seconds first, e.g. 0 */5 * * * *';
  if (name.endsWith('_SECRET_NAME'))
    return 'must be a Key Vault secret name: 1-127 letters, digits and hyphens';
  const unit = UNITS.find(([suffix]) => name.endsWith(suffix))?.[1];
  if (unit !== undefined) {
    const decimals = params.pattern?.includes('\\.') === true ? ', decimals allowed' : '';
    return `must be a number of ${unit} (digits only${decimals}), within its range`;
  }
  return error.message ?? 'is invalid';
}
