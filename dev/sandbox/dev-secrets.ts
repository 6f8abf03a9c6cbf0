import { randomBytes } from 'node:crypto';
import type { KeyVaultStandIn } from './key-vault.js';

/**
 * Webhook secrets for local runs, in each scheme's own format, stored in the Key Vault stand-in under the
 * default secret names (README, Configuration). Random per sandbox start: nothing here is a real secret.
 */
export interface DevSecrets {
  /** Standard Webhooks `whsec_…`, for the generic route. */
  generic: string;
  /** Standard Webhooks `whsec_…`, for the ServiceNow route. */
  servicenow: string;
  /** Teams outgoing webhook security token (base64 of 32 bytes). */
  teams: string;
  /** Slack signing secret (32 hex characters). */
  slack: string;
}

export const DEV_SECRET_NAMES: Record<keyof DevSecrets, string> = {
  generic: 'webhook-secret',
  servicenow: 'servicenow-webhook-secret',
  teams: 'teams-outgoing-webhook-token',
  slack: 'slack-signing-secret',
};

export function createDevSecrets(): DevSecrets {
  return {
    generic: `whsec_${randomBytes(24).toString('base64')}`,
    servicenow: `whsec_${randomBytes(24).toString('base64')}`,
    teams: randomBytes(32).toString('base64'),
    slack: randomBytes(16).toString('hex'),
  };
}

export function seedDevSecrets(vault: KeyVaultStandIn, secrets: DevSecrets): void {
  for (const key of Object.keys(DEV_SECRET_NAMES) as (keyof DevSecrets)[]) {
    vault.setSecret(DEV_SECRET_NAMES[key], secrets[key]);
  }
}
