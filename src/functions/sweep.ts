import { sweepOperations } from '../approval/sweep.js';
import type { AppDeps } from '../composition-root.js';
import type { TimerDefinition } from '../http/route-types.js';

/**
 * Timer: every five minutes, work whose message was lost (never sent, poisoned, or held by a worker that died)
 * and reports still owed are sent again (approval/sweep.ts).
 */
export function sweepTimer(deps: AppDeps): TimerDefinition {
  return {
    name: 'sweep',
    schedule: SWEEP_SCHEDULE,
    handler: async (context) => {
      const logger = deps.invocationLogger(context, { timer: 'sweep' });
      const { resent } = await sweepOperations(deps.continued.later, logger);
      if (resent > 0) logger.warn('sweep.resent', { resent });
    },
  };
}

export const SWEEP_SCHEDULE = '0 */5 * * * *';
