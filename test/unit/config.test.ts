import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { PROVIDERS } from '../../src/model/provider-registry.js';

/**
 * The settings added for asynchronous completion and late reports: defaults, what is accepted, and what is
 * refused with a problem that names the setting. Everything goes through `loadConfig`, as the app reads it.
 */

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('defaults of the asynchronous settings', () => {
  it('answers within 25 s, retries for 24 h from 5 s up to 10 min', () => {
    expect(loadConfig({}).async).toEqual({
      syncBudgetMs: 25_000,
      maxAgeMs: 24 * 3_600_000,
      retryBaseMs: 5_000,
      retryMaxMs: 600_000,
    });
  });

  it('reports to no ServiceNow instance, Slack only on hooks.slack.com, and the default secret names', () => {
    expect(loadConfig({}).report).toEqual({
      servicenowInstanceUrl: undefined,
      servicenowCredentialsSecretName: 'servicenow-api-credentials',
      servicenowTable: 'change_request',
      slackResponseUrlHosts: ['hooks.slack.com'],
      teamsWorkflowUrlSecretName: 'teams-workflow-url',
    });
  });

  it('treats blank settings as unset', () => {
    const config = loadConfig({
      SYNC_BUDGET_MS: '',
      ASYNC_MAX_AGE_HOURS: '  ',
      ASYNC_RETRY_BASE_MS: '',
      ASYNC_RETRY_MAX_MS: '',
      SERVICENOW_INSTANCE_URL: ' ',
      SERVICENOW_TABLE: '',
      SLACK_RESPONSE_URL_HOSTS: '',
      TEAMS_WORKFLOW_URL_SECRET_NAME: '',
      AzureWebJobsStorage__queueServiceUri: '  ',
    });
    expect(config.async).toEqual(loadConfig({}).async);
    expect(config.report).toEqual(loadConfig({}).report);
    expect(config.storage.queueServiceUri).toBeUndefined();
  });
});

describe('SYNC_BUDGET_MS', () => {
  it.each([
    ['1', 1],
    ['50', 50],
    ['100', 100],
    ['2500', 2_500],
    ['999999', 999_999],
    [' 3000 ', 3_000],
  ])('takes %s', (value, expected) => {
    expect(loadConfig({ SYNC_BUDGET_MS: value }).async.syncBudgetMs).toBe(expected);
  });

  it.each(['0', '1000000', '0100', '-500', '2.5', '2s', 'abc'])('refuses %s', (value) => {
    const problems = problemsOf({ SYNC_BUDGET_MS: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SYNC_BUDGET_MS: /);
  });
});

describe('ASYNC_MAX_AGE_HOURS', () => {
  it.each([
    ['24', 86_400_000],
    ['1', 3_600_000],
    ['0.5', 1_800_000],
    ['1.25', 4_500_000],
    ['0.0005', 1_800],
    ['0.000001', 4],
    ['167.999999', 604_799_996],
    ['168', 604_800_000],
  ])('takes decimal hours: %s → %i ms', (value, expected) => {
    expect(loadConfig({ ASYNC_MAX_AGE_HOURS: value }).async.maxAgeMs).toBe(expected);
  });

  it('gives whole milliseconds for any decimal it takes', () => {
    for (const value of ['0.333333', '1.1', '7.777777', '0.000123']) {
      expect(Number.isInteger(loadConfig({ ASYNC_MAX_AGE_HOURS: value }).async.maxAgeMs)).toBe(true);
    }
  });

  it.each(['-1', '1.', '.5', '1,5', '1e3', '10000', '1.1234567', 'Infinity', 'NaN', '24h', '0x10'])(
    'refuses %s',
    (value) => {
      const problems = problemsOf({ ASYNC_MAX_AGE_HOURS: value });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^ASYNC_MAX_AGE_HOURS: /);
    },
  );

  it.each(['0', '0.0', '0.000000', '168.000001', '169', '9999.999999'])(
    'refuses %s: more than 0 and at most 168 hours (a week)',
    (value) => {
      expect(problemsOf({ ASYNC_MAX_AGE_HOURS: value })).toEqual([
        'ASYNC_MAX_AGE_HOURS: must be more than 0 and at most 168 (a week)',
      ]);
    },
  );
});

describe('ASYNC_RETRY_BASE_MS and ASYNC_RETRY_MAX_MS', () => {
  it('takes both', () => {
    const config = loadConfig({ ASYNC_RETRY_BASE_MS: '1000', ASYNC_RETRY_MAX_MS: '2000' });
    expect(config.async).toMatchObject({ retryBaseMs: 1_000, retryMaxMs: 2_000 });
  });

  it('takes a cap equal to the base (a fixed interval)', () => {
    const config = loadConfig({ ASYNC_RETRY_BASE_MS: '3000', ASYNC_RETRY_MAX_MS: '3000' });
    expect(config.async).toMatchObject({ retryBaseMs: 3_000, retryMaxMs: 3_000 });
  });

  it('refuses a cap below the base, naming both settings', () => {
    expect(problemsOf({ ASYNC_RETRY_BASE_MS: '5000', ASYNC_RETRY_MAX_MS: '4999' })).toEqual([
      'ASYNC_RETRY_MAX_MS: must not be below ASYNC_RETRY_BASE_MS',
    ]);
  });

  it('compares with the defaults when only one of them is set', () => {
    // Default cap 600 000 ms: a larger base alone is a problem; default base 5 000 ms: a smaller cap alone too.
    expect(problemsOf({ ASYNC_RETRY_BASE_MS: '600001' })).toEqual([
      'ASYNC_RETRY_MAX_MS: must not be below ASYNC_RETRY_BASE_MS',
    ]);
    expect(problemsOf({ ASYNC_RETRY_MAX_MS: '4999' })).toEqual([
      'ASYNC_RETRY_MAX_MS: must not be below ASYNC_RETRY_BASE_MS',
    ]);
    expect(loadConfig({ ASYNC_RETRY_BASE_MS: '600000' }).async.retryBaseMs).toBe(600_000);
    expect(loadConfig({ ASYNC_RETRY_MAX_MS: '5000' }).async.retryMaxMs).toBe(5_000);
  });

  it('reports the cross-setting problems together', () => {
    const problems = problemsOf({
      ASYNC_RETRY_BASE_MS: '2000',
      ASYNC_RETRY_MAX_MS: '1000',
      ARM_RETRY_BASE_DELAY_MS: '900',
      ARM_RETRY_MAX_DELAY_MS: '800',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'ASYNC_RETRY_MAX_MS: must not be below ASYNC_RETRY_BASE_MS',
        'ARM_RETRY_MAX_DELAY_MS: must not be below ARM_RETRY_BASE_DELAY_MS',
      ]),
    );
    expect(problems).toHaveLength(2);
  });

  it('takes a cap of exactly seven days, the longest Queue Storage keeps a message invisible', () => {
    expect(loadConfig({ ASYNC_RETRY_MAX_MS: '604800000' }).async.retryMaxMs).toBe(604_800_000);
  });

  it('refuses ASYNC_RETRY_MAX_MS above seven days (Queue Storage refuses a longer visibility timeout)', () => {
    // The next attempt is sent with visibilityTimeout = delay; above 604 800 s the service answers 400 and the
    // retry could never be scheduled. Refused at start-up rather than failing every late attempt.
    const problems = problemsOf({ ASYNC_RETRY_MAX_MS: '604800001' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^ASYNC_RETRY_MAX_MS: /);
  });

  it.each([
    ['ASYNC_RETRY_BASE_MS', '0'],
    ['ASYNC_RETRY_BASE_MS', '-1'],
    ['ASYNC_RETRY_BASE_MS', '1.5'],
    ['ASYNC_RETRY_BASE_MS', '100000000'],
    ['ASYNC_RETRY_MAX_MS', '0'],
    ['ASYNC_RETRY_MAX_MS', '1000000000'],
    ['ASYNC_RETRY_MAX_MS', 'ten'],
  ])('refuses %s=%s', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: `));
  });
});

describe('SERVICENOW_INSTANCE_URL', () => {
  it.each([
    ['https://example.service-now.com', 'https://example.service-now.com'],
    ['https://example.service-now.com/', 'https://example.service-now.com'],
    ['https://example.service-now.com///', 'https://example.service-now.com'],
    ['https://127.0.0.1:8443/_servicenow/', 'https://127.0.0.1:8443/_servicenow'],
    [' https://example.service-now.com/ ', 'https://example.service-now.com'],
  ])('takes %s as %s (trailing slashes trimmed)', (value, expected) => {
    expect(loadConfig({ SERVICENOW_INSTANCE_URL: value }).report.servicenowInstanceUrl).toBe(expected);
  });

  it.each([
    'http://example.service-now.com',
    'HTTP://example.service-now.com',
    'ftp://example.service-now.com',
    'example.service-now.com',
    'https://',
    'https://example.service-now.com/?sysparm=1',
    'https://example.service-now.com/#x',
    'https://example.service-now.com/a b',
    'https://user:secret@example.service-now.com',
    'https://user@example.service-now.com/',
    'https://example.service-now.com@attacker.example',
  ])('refuses %s (https only, no user info, no query or fragment)', (value) => {
    const problems = problemsOf({ SERVICENOW_INSTANCE_URL: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SERVICENOW_INSTANCE_URL: /);
  });
});

describe('SERVICENOW_TABLE and SERVICENOW_CREDENTIALS_SECRET_NAME', () => {
  it.each(['change_request', 'sc_req_item', 'u_private_link', 'incident'])('takes the table %s', (table) => {
    expect(loadConfig({ SERVICENOW_TABLE: table }).report.servicenowTable).toBe(table);
  });

  it.each(['Change_Request', '1table', '_table', 'change-request', 'a/b', '../sys_user', 'a'.repeat(81)])(
    'refuses the table %s (it becomes part of the Table API path)',
    (table) => {
      const problems = problemsOf({ SERVICENOW_TABLE: table });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^SERVICENOW_TABLE: /);
    },
  );

  it('takes a Key Vault secret name for the API credentials, and refuses anything else', () => {
    expect(
      loadConfig({ SERVICENOW_CREDENTIALS_SECRET_NAME: 'snow-oauth-2' }).report
        .servicenowCredentialsSecretName,
    ).toBe('snow-oauth-2');
    expect(problemsOf({ SERVICENOW_CREDENTIALS_SECRET_NAME: 'snow_oauth' })[0]).toMatch(
      /^SERVICENOW_CREDENTIALS_SECRET_NAME: /,
    );
  });
});

describe('SLACK_RESPONSE_URL_HOSTS', () => {
  it('is a comma-separated list, trimmed and lower-cased', () => {
    expect(
      loadConfig({ SLACK_RESPONSE_URL_HOSTS: ' Hooks.Slack.com ,127.0.0.1:8443 , HOOKS.example.org ' }).report
        .slackResponseUrlHosts,
    ).toEqual(['hooks.slack.com', '127.0.0.1:8443', 'hooks.example.org']);
  });

  it('takes host names and host:port entries', () => {
    expect(
      loadConfig({ SLACK_RESPONSE_URL_HOSTS: 'hooks.slack.com, 127.0.0.1:8443' }).report
        .slackResponseUrlHosts,
    ).toEqual(['hooks.slack.com', '127.0.0.1:8443']);
  });

  it('replaces the default instead of adding to it', () => {
    expect(
      loadConfig({ SLACK_RESPONSE_URL_HOSTS: 'hooks.example.org' }).report.slackResponseUrlHosts,
    ).toEqual(['hooks.example.org']);
  });

  it.each([
    ['a URL', 'https://hooks.slack.com'],
    ['a URL with a path', 'hooks.slack.com/commands'],
    ['a URL among hosts', 'hooks.slack.com, https://127.0.0.1:8443'],
    ['user info', 'user@hooks.slack.com'],
    ['a wildcard', '*.slack.com'],
    ['a port that is not a number', 'hooks.slack.com:https'],
    ['a port of six digits', 'hooks.slack.com:443443'],
    ['hosts separated by spaces', 'hooks.slack.com hooks.example.org'],
    ['an empty entry between hosts', 'hooks.slack.com,,hooks.example.org'],
    ['a trailing comma', 'hooks.slack.com,'],
    ['commas alone', ' , ,'],
  ])('refuses %s (host names with an optional port, comma-separated)', (_why, value) => {
    const problems = problemsOf({ SLACK_RESPONSE_URL_HOSTS: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SLACK_RESPONSE_URL_HOSTS: /);
  });
});

describe('TEAMS_WORKFLOW_URL_SECRET_NAME', () => {
  it('takes a Key Vault secret name', () => {
    expect(
      loadConfig({ TEAMS_WORKFLOW_URL_SECRET_NAME: 'Teams-Late-Outcomes-1' }).report
        .teamsWorkflowUrlSecretName,
    ).toBe('Teams-Late-Outcomes-1');
  });

  it.each(['teams_workflow', 'teams.workflow', 'teams workflow', 'a'.repeat(128)])('refuses %s', (value) => {
    const problems = problemsOf({ TEAMS_WORKFLOW_URL_SECRET_NAME: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^TEAMS_WORKFLOW_URL_SECRET_NAME: /);
  });
});

describe('AzureWebJobsStorage__queueServiceUri', () => {
  it('is used as given, beside the table service URI, with no connection string', () => {
    const storage = loadConfig({
      AzureWebJobsStorage__tableServiceUri: 'https://acct.table.core.windows.net/',
      AzureWebJobsStorage__queueServiceUri: 'https://acct.queue.core.windows.net/',
    }).storage;
    expect(storage.queueServiceUri).toBe('https://acct.queue.core.windows.net/');
    expect(storage.tableServiceUri).toBe('https://acct.table.core.windows.net/');
    expect(storage.connectionString).toBeUndefined();
  });

  it('is derived from the account name when not given, and a given one wins over the derived one', () => {
    expect(loadConfig({ AzureWebJobsStorage__accountName: 'acct' }).storage.queueServiceUri).toBe(
      'https://acct.queue.core.windows.net',
    );
    expect(
      loadConfig({
        AzureWebJobsStorage__accountName: 'acct',
        AzureWebJobsStorage__queueServiceUri: 'https://other.queue.core.windows.net',
      }).storage.queueServiceUri,
    ).toBe('https://other.queue.core.windows.net');
  });

  it.each([
    'http://acct.queue.core.windows.net',
    'http://127.0.0.1:10001/devstoreaccount1',
    'acct.queue.core.windows.net',
    'https://acct.queue.core.windows.net/approvals',
    'https://acct.queue.core.windows.net/?sv=2024',
  ])('refuses %s: only the https:// endpoint of the storage account', (value) => {
    expect(problemsOf({ AzureWebJobsStorage__queueServiceUri: value })).toEqual([
      'AzureWebJobsStorage__queueServiceUri: must be the https:// queue endpoint of the storage account',
    ]);
  });

  it('without a table service URI or account name: no development storage connection string is made up', () => {
    const storage = loadConfig({
      AzureWebJobsStorage__queueServiceUri: 'https://acct.queue.core.windows.net',
    }).storage;
    expect(storage.connectionString).toBeUndefined();
    expect(storage.queueServiceUri).toBe('https://acct.queue.core.windows.net');
  });

  it('is absent with a connection string (the queue endpoint then comes from the connection string)', () => {
    const storage = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }).storage;
    expect(storage.queueServiceUri).toBeUndefined();
    expect(storage.connectionString).toBe('UseDevelopmentStorage=true');
  });
});

describe('CLAIM_LEASE_SECONDS against ARM_DEADLINE_MS', () => {
  const PROBLEM = 'CLAIM_LEASE_SECONDS: must exceed ARM_DEADLINE_MS by more than a second';

  it('takes the defaults (60 s lease, 25 s deadline)', () => {
    const config = loadConfig({});
    expect(config.storage.claimLeaseSeconds).toBe(60);
    expect(config.arm.deadlineMs).toBe(25_000);
  });

  it('takes a lease just more than a second beyond the deadline', () => {
    expect(loadConfig({ CLAIM_LEASE_SECONDS: '27' }).storage.claimLeaseSeconds).toBe(27);
    expect(loadConfig({ CLAIM_LEASE_SECONDS: '5', ARM_DEADLINE_MS: '3999' }).arm.deadlineMs).toBe(3_999);
    expect(loadConfig({ ARM_DEADLINE_MS: '58999' }).arm.deadlineMs).toBe(58_999);
  });

  it.each<[Record<string, string>, string]>([
    [{ CLAIM_LEASE_SECONDS: '26' }, 'a lease of exactly the deadline plus a second'],
    [{ CLAIM_LEASE_SECONDS: '25' }, 'a lease equal to the default deadline'],
    [{ CLAIM_LEASE_SECONDS: '1' }, 'a lease far below the deadline'],
    [{ ARM_DEADLINE_MS: '59000' }, 'a deadline that leaves the default lease only a second'],
    [{ ARM_DEADLINE_MS: '120000' }, 'a deadline beyond the default lease'],
    [{ CLAIM_LEASE_SECONDS: '5', ARM_DEADLINE_MS: '4000' }, 'both set, a second apart'],
  ])('refuses %j (%s)', (env, _why) => {
    expect(problemsOf(env)).toEqual([PROBLEM]);
  });
});

describe('ENABLED_RESOURCE_TYPES', () => {
  const ALL = PROVIDERS.map((p) => p.type);

  it.each([
    ['unset', {}],
    ['blank', { ENABLED_RESOURCE_TYPES: '  ' }],
    ['"*"', { ENABLED_RESOURCE_TYPES: '*' }],
    ['" * "', { ENABLED_RESOURCE_TYPES: ' * ' }],
    ['"*" beside a type', { ENABLED_RESOURCE_TYPES: 'Microsoft.Storage/storageAccounts, *' }],
  ])('%s: every registry type, in the registry order', (_name, env) => {
    expect(loadConfig(env).arm.enabledTypes).toEqual(ALL);
  });

  it('a list: those types, in the registry spelling whatever the casing written', () => {
    const config = loadConfig({
      ENABLED_RESOURCE_TYPES:
        ' microsoft.storage/STORAGEACCOUNTS ,Microsoft.KeyVault/vaults,MICROSOFT.WEB/SITES/SLOTS ',
    });
    expect(config.arm.enabledTypes).toEqual([
      'Microsoft.Storage/storageAccounts',
      'Microsoft.KeyVault/vaults',
      'Microsoft.Web/sites/slots',
    ]);
  });

  it('names a type once when it is listed twice in other casings', () => {
    const config = loadConfig({
      ENABLED_RESOURCE_TYPES: 'Microsoft.Sql/servers,microsoft.sql/servers,,MICROSOFT.SQL/SERVERS',
    });
    expect(config.arm.enabledTypes).toEqual(['Microsoft.Sql/servers']);
  });

  it("refuses Resource Manager's other spelling of a type: the template looks types up as docs/providers.md spells them", () => {
    expect(problemsOf({ ENABLED_RESOURCE_TYPES: 'Microsoft.ContainerService/managedCluster' })).toEqual([
      expect.stringMatching(/^ENABLED_RESOURCE_TYPES: "Microsoft\.ContainerService\/managedCluster"/),
    ]);
  });

  it('a type the app does not know: a problem naming it', () => {
    expect(
      problemsOf({ ENABLED_RESOURCE_TYPES: 'Microsoft.Storage/storageAccounts,Microsoft.Nope/things' }),
    ).toEqual([
      'ENABLED_RESOURCE_TYPES: "Microsoft.Nope/things" is not a type the app knows (docs/providers.md lists them)',
    ]);
  });

  it('every unknown type, each named', () => {
    const problems = problemsOf({ ENABLED_RESOURCE_TYPES: 'Microsoft.Storage/*, Microsoft.Web/sites/slot' });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('"Microsoft.Storage/*"');
    expect(problems[1]).toContain('"Microsoft.Web/sites/slot"');
    for (const problem of problems) expect(problem).toMatch(/^ENABLED_RESOURCE_TYPES: /);
  });

  it('reports an unknown type beside the other problems', () => {
    const problems = problemsOf({
      ENABLED_RESOURCE_TYPES: 'Microsoft.Nope/things',
      ARM_RETRY_BASE_DELAY_MS: '900',
      ARM_RETRY_MAX_DELAY_MS: '800',
    });
    expect(problems).toEqual([
      'ARM_RETRY_MAX_DELAY_MS: must not be below ARM_RETRY_BASE_DELAY_MS',
      'ENABLED_RESOURCE_TYPES: "Microsoft.Nope/things" is not a type the app knows (docs/providers.md lists them)',
    ]);
  });
});

describe('ARM_POLL_INTERVAL_MS', () => {
  it('defaults to 2 s', () => {
    expect(loadConfig({}).arm.pollIntervalMs).toBe(2_000);
    expect(loadConfig({ ARM_POLL_INTERVAL_MS: ' ' }).arm.pollIntervalMs).toBe(2_000);
  });

  it.each([
    ['10', 10],
    ['99', 99],
    ['500', 500],
    ['2500', 2_500],
    ['999999', 999_999],
    [' 3000 ', 3_000],
  ])('takes %s', (value, expected) => {
    expect(loadConfig({ ARM_POLL_INTERVAL_MS: value }).arm.pollIntervalMs).toBe(expected);
  });

  it.each(['0', '1', '9', '1000000', '0100', '-500', '2.5', '2s', '1e3', 'abc'])('refuses %s', (value) => {
    const problems = problemsOf({ ARM_POLL_INTERVAL_MS: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^ARM_POLL_INTERVAL_MS: /);
  });
});

describe('discovery settings', () => {
  const MG = '/providers/Microsoft.Management/managementGroups/contoso-platform';
  const SUBSCRIPTION = '3F2504E0-4F89-41D3-9A0C-0305E82C3301';

  it('are off by default, every 5 minutes, reminding after 24 h, asking ServiceNow where its route reads', () => {
    const { discovery } = loadConfig({});
    expect(discovery).toMatchObject({
      subscriptions: [],
      managementGroups: [],
      schedule: '0 */5 * * * *',
      remindAfterMs: 86_400_000,
      slackBotTokenSecretName: 'slack-bot-token',
      slackApiUrl: 'https://slack.com/api',
    });
    expect(discovery.slackChannel).toBeUndefined();
    expect(discovery.servicenowFields.u_private_endpoint_connection_id).toBe('{connectionId}');
  });

  it('take subscriptions and management groups in one list', () => {
    const { discovery } = loadConfig({ DISCOVERY_SCOPES: ` ${SUBSCRIPTION} , ${MG}` });
    expect(discovery.subscriptions).toEqual([SUBSCRIPTION.toLowerCase()]);
    expect(discovery.managementGroups).toEqual(['contoso-platform']);
  });

  it('gives a scan four minutes to act by default, under the default schedule of five', () => {
    expect(loadConfig({}).discovery.scanBudgetMs).toBe(240_000);
    expect(loadConfig({ DISCOVERY_SCAN_BUDGET_SECONDS: '30' }).discovery.scanBudgetMs).toBe(30_000);
  });

  it.each([
    ['DISCOVERY_SCOPES', 'not-a-subscription'],
    ['DISCOVERY_SCOPES', '/subscriptions/3F2504E0-4F89-41D3-9A0C-0305E82C3301'],
    ['DISCOVERY_SCOPES', '/providers/Microsoft.Management/managementGroups/'],
    ['DISCOVERY_SCHEDULE', 'every five minutes'],
    ['DISCOVERY_REMIND_AFTER_HOURS', '-1'],
    ['DISCOVERY_REMIND_AFTER_HOURS', '0'],
    ['DISCOVERY_REMIND_AFTER_HOURS', 'a day'],
    ['DISCOVERY_SCAN_BUDGET_SECONDS', '0'],
    ['DISCOVERY_SCAN_BUDGET_SECONDS', '4m'],
    ['DISCOVERY_SLACK_CHANNEL', '#approvals'],
    ['SLACK_API_URL', 'http://slack.com/api'],
    ['DISCOVERY_SERVICENOW_FIELDS', 'short_description=x'],
    ['DISCOVERY_SERVICENOW_FIELDS', '["{connectionId}"]'],
    ['DISCOVERY_SERVICENOW_FIELDS', '{"short_description":"no connection id here"}'],
    ['DISCOVERY_SERVICENOW_FIELDS', '{"u_connection":{"nested":"{connectionId}"}}'],
  ])('%s=%s is refused, naming the setting', (name, value) => {
    expect(problemsOf({ [name]: value }).some((p) => p.includes(name))).toBe(true);
  });

  it('take a field mapping of their own, and reminders in fractions of an hour', () => {
    const fields = { short_description: 'PE {connection}', u_pe_connection: '{connectionId}' };
    const { discovery } = loadConfig({
      DISCOVERY_SERVICENOW_FIELDS: JSON.stringify(fields),
      DISCOVERY_REMIND_AFTER_HOURS: '0.5',
    });
    expect(discovery.servicenowFields).toEqual(fields);
    expect(discovery.remindAfterMs).toBe(1_800_000);
  });
});

describe('ENTRA_TENANT_ID named by domain', () => {
  it('needs ENTRA_ALLOWED_TENANTS: tokens name their tenant by GUID, so none would be allowed', () => {
    const problems = problemsOf({ ENTRA_TENANT_ID: 'contoso.onmicrosoft.com', ENTRA_AUDIENCE: 'api://x' });
    expect(problems).toEqual([expect.stringMatching(/^ENTRA_ALLOWED_TENANTS: must list the tenant GUID/)]);
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const config = loadConfig({
      ENTRA_TENANT_ID: 'contoso.onmicrosoft.com',
      ENTRA_AUDIENCE: 'api://x',
      ENTRA_ALLOWED_TENANTS: tenant,
    });
    expect(config.entra.allowedTenants).toEqual([tenant]);
    expect(loadConfig({ ENTRA_TENANT_ID: tenant }).entra.allowedTenants).toEqual([tenant]);
    // Without ENTRA_AUDIENCE no token is taken at all, so nothing needs the tenant's GUID.
    expect(() => loadConfig({ ENTRA_TENANT_ID: 'contoso.onmicrosoft.com' })).not.toThrow();
  });
});

describe('half an Entra ID configuration', () => {
  it('is refused at start, rather than turning bearer tokens off without a word', () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    expect(problemsOf({ ENTRA_TENANT_ID: tenant, ENTRA_ALLOWED_CALLERS: 'x' })).toEqual([
      'ENTRA_AUDIENCE: needed for Entra ID bearer tokens, since ENTRA_ALLOWED_CALLERS is set; set it, or unset the ENTRA_ settings to accept signed requests only',
    ]);
    expect(problemsOf({ ENTRA_AUDIENCE: 'api://x', ENTRA_REQUIRED_ROLE: 'Approvals.Write' })).toEqual([
      expect.stringMatching(
        /^ENTRA_TENANT_ID: needed for Entra ID bearer tokens, since ENTRA_AUDIENCE, ENTRA_REQUIRED_ROLE are set/,
      ),
    ]);
    // A tenant alone takes no token (the sandbox sets one for every host); both, or none, load.
    expect(() => loadConfig({ ENTRA_TENANT_ID: tenant })).not.toThrow();
    expect(() => loadConfig({ ENTRA_TENANT_ID: tenant, ENTRA_AUDIENCE: 'api://x' })).not.toThrow();
  });
});

describe('SECRET_CACHE_TTL_SECONDS', () => {
  it('is at most an hour, and under 10 s only for a vault on this machine', () => {
    expect(problemsOf({ SECRET_CACHE_TTL_SECONDS: '3601' })).toEqual([
      'SECRET_CACHE_TTL_SECONDS: must be at most 3600 (an hour)',
    ]);
    expect(
      problemsOf({ SECRET_CACHE_TTL_SECONDS: '0', KEY_VAULT_URL: 'https://kv-1.vault.azure.net' }),
    ).toEqual(['SECRET_CACHE_TTL_SECONDS: must be at least 10 (under 10 only for a vault on this machine)']);
    expect(() =>
      loadConfig({ SECRET_CACHE_TTL_SECONDS: '0', KEY_VAULT_URL: 'https://127.0.0.1:8443' }),
    ).not.toThrow();
    expect(() =>
      loadConfig({ SECRET_CACHE_TTL_SECONDS: '10', KEY_VAULT_URL: 'https://kv-1.vault.azure.net' }),
    ).not.toThrow();
  });
});

describe('ARM_SCOPE by default', () => {
  it("is the scope of the Resource Manager that ARM_ENDPOINT names (a sovereign cloud's own)", () => {
    expect(loadConfig({}).arm.scope).toBe('https://management.azure.com/.default');
    expect(loadConfig({ ARM_ENDPOINT: 'https://management.usgovcloudapi.net/' }).arm.scope).toBe(
      'https://management.usgovcloudapi.net/.default',
    );
    expect(
      loadConfig({ ARM_ENDPOINT: 'https://management.chinacloudapi.cn', ARM_SCOPE: 'https://x/.default' }).arm
        .scope,
    ).toBe('https://x/.default');
    // The sandbox on this machine issues tokens for the public scope.
    expect(loadConfig({ ARM_ENDPOINT: 'https://127.0.0.1:8443' }).arm.scope).toBe(
      'https://management.azure.com/.default',
    );
  });
});

describe('a host storage identity other than the app', () => {
  it('is refused at start: the host would run while every request fails on storage', () => {
    const id = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    const other = '3f2504e0-4f89-41d3-9a0c-0305e82c3302';
    const host = { AzureWebJobsStorage__credential: 'managedidentity', AzureWebJobsStorage__clientId: id };
    expect(problemsOf(host)).toEqual([
      expect.stringMatching(
        /^AzureWebJobsStorage__clientId: the host reaches storage as 3f2504e0-4f89-41d3-9a0c-0305e82c3301, the app as its system-assigned identity/,
      ),
    ]);
    expect(problemsOf({ ...host, AZURE_CLIENT_ID: other })).toHaveLength(1);
    expect(() => loadConfig({ ...host, AZURE_CLIENT_ID: id.toUpperCase() })).not.toThrow();
  });
});

describe('an invalid setting', () => {
  it('says what the setting must look like, not which pattern it failed', () => {
    expect(problemsOf({ KEY_VAULT_URL: 'https://kv.vault.azure.net/secrets/x' })).toEqual([
      'KEY_VAULT_URL: must be the https:// address of the vault without a path, e.g. https://<vault>.vault.azure.net',
    ]);
    expect(problemsOf({ ASYNC_MAX_AGE_HOURS: 'a day' })).toEqual([
      'ASYNC_MAX_AGE_HOURS: must be a number of hours (digits only, decimals allowed), within its range',
    ]);
    expect(problemsOf({ IDEMPOTENCY_TTL_HOURS: '1.5' })).toEqual([
      'IDEMPOTENCY_TTL_HOURS: must be a number of hours (digits only), within its range',
    ]);
    expect(problemsOf({ DISCOVERY_SCHEDULE: '*/5 * * * *' })).toEqual([
      'DISCOVERY_SCHEDULE: must be six NCRONTAB fields, seconds first, e.g. 0 */5 * * * *',
    ]);
    expect(problemsOf({ LOG_LEVEL: 'verbose' })).toEqual([
      'LOG_LEVEL: must be one of debug, info, warn, error',
    ]);
    expect(problemsOf({ WEBHOOK_SECRET_NAME: 'my_secret' })).toEqual([
      'WEBHOOK_SECRET_NAME: must be a Key Vault secret name: 1-127 letters, digits and hyphens',
    ]);
    for (const problem of problemsOf({ TABLE_PREFIX: '1abc', PORT: 'x', ARM_DEADLINE_MS: '5s' }))
      expect(problem).not.toMatch(/pattern/);
  });
});

describe('SLACK_RESPONSE_URL_HOSTS', () => {
  it('takes a host written with https’s default port as the host itself (a URL never shows :443)', () => {
    expect(
      loadConfig({ SLACK_RESPONSE_URL_HOSTS: 'hooks.slack.com:443, 127.0.0.1:8443' }).report
        .slackResponseUrlHosts,
    ).toEqual(['hooks.slack.com', '127.0.0.1:8443']);
  });
});
