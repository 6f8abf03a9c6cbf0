import { sweepOperations } from '../approval/sweep.js';
import type { AppDeps } from '../composition-root.js';
import type { TimerDefinition } from '../http/route-types.js';
import { abandonWork } from './work-end.js';

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
      const { resent, abandoned } = await sweepOperations(
        { ...deps.continued.later, abandon: abandonWork(deps) },
        logger,
      );
      if (resent > 0) logger.warn('sweep.resent', { resent });
      if (abandoned > 0) logger.error('sweep.ended-failed', { abandoned });
    },
  };
}

export const SWEEP_SCHEDULE = '0 */5 * * * *';
