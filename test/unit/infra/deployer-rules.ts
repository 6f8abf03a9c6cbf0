import { ROLE_DEFINITIONS_PATH } from './bicep-checks.js';
import type { DeployerRoleRules } from './bicep-checks.js';

/**
 * What the two deployer roles must hold beyond what the templates' text shows, and why they may hold more: the
 * reasons a reviewer reads next to infra/deployer-role.json and infra/deployer-target-role.json.
 */

/** Needed by both deployer roles for what azd and Resource Manager do around the templates. */
export const DEPLOYMENT_BOOKKEEPING: Record<string, string> = {
  'Microsoft.Resources/subscriptions/read': 'azd and az read the subscription they deploy to',
  'Microsoft.Resources/deployments/read': 'azd and Resource Manager follow each deployment',
  'Microsoft.Resources/deployments/validate/action': 'the deployment is validated first (preflight)',
  'Microsoft.Resources/deployments/operations/read': 'azd reports the progress of each operation',
  'Microsoft.Resources/deployments/operationstatuses/read': 'Resource Manager polls long-running deployments',
};

/** The two `az role definition create` documents, what the templates need of each, and why they hold more. */
export const DEPLOYER_ROLES: DeployerRoleRules[] = [
  {
    path: 'infra/deployer-role.json',
    scope: 'deployment',
    entries: ['infra/main.bicep', ROLE_DEFINITIONS_PATH],
    alsoNeeded: {
      'Microsoft.Web/sites/publish/Action': 'azd deploy publishes the package through the site, with Entra',
      'Microsoft.Resources/subscriptions/resourceGroups/resources/read': 'azd finds the app by its tag',
      // Resource Manager checks it on the workspace a diagnostic setting names (LinkedAuthorizationFailed without).
      'Microsoft.OperationalInsights/workspaces/sharedKeys/action':
        "the Key Vault's diagnostic setting sends its audit log to the workspace",
    },
    extras: {
      ...DEPLOYMENT_BOOKKEEPING,
      'Microsoft.Resources/deployments/whatIf/action': 'azd provision --preview',
      'Microsoft.Resources/subscriptions/resourceGroups/delete': 'azd down deletes the resource group',
      'Microsoft.Resources/subscriptions/resources/read': 'azd lists the resources of the environment',
      // Deleting a group deletes each resource in it, and Resource Manager checks delete on each.
      ...Object.fromEntries(
        [
          'Microsoft.Web/serverfarms',
          'Microsoft.Web/sites',
          'Microsoft.Storage/storageAccounts',
          'Microsoft.KeyVault/vaults',
          'Microsoft.Insights/components',
          'Microsoft.OperationalInsights/workspaces',
          'Microsoft.ManagedIdentity/userAssignedIdentities',
        ].map((type) => [`${type}/delete`, 'azd down deletes the resource group and so each resource in it']),
      ),
    },
  },
  {
    path: 'infra/deployer-target-role.json',
    scope: 'target',
    entries: ['infra/main.bicep'],
    alsoNeeded: {
      'Microsoft.Authorization/roleDefinitions/write':
        "the custom roles' assignableScopes include every target and discovery subscription",
    },
    extras: {
      ...DEPLOYMENT_BOOKKEEPING,
      'Microsoft.Resources/subscriptions/resourceGroups/read':
        'a nested deployment into a resource group reads it',
      'Microsoft.Authorization/roleDefinitions/read': 'the definition is read back after the write',
    },
  },
];
