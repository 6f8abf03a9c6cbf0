import type { AppDeps } from '../composition-root.js';
import type { TimerDefinition } from '../http/route-types.js';

/** Timer: the discovery scan on DISCOVERY_SCHEDULE; registered only when DISCOVERY_SCOPES names a scope. */
export function discoveryTimer(deps: AppDeps): TimerDefinition[] {
  const scanner = deps.discovery;
  if (scanner === undefined) return [];
  return [
    {
      name: 'discovery',
      schedule: scanner.schedule,
      handler: async (context) => {
        const logger = deps.invocationLogger(context, { timer: 'discovery' });
        // An invalid policy approves nothing: asking people about everything would only add noise.
        if (!deps.policyStatus.ok) return logger.error('discovery.skipped', { reason: 'policy-invalid' });
        await scanner.run(logger);
      },
    },
  ];
}
