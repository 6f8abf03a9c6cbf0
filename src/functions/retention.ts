import type { AppDeps } from '../composition-root.js';
import type { TimerDefinition } from '../http/route-types.js';
import { purgeEndedOperations, purgeExpired, purgeExpiredKeys } from '../store/retention.js';

/**
 * Timer: deletes expired replay marks, idempotency records (in their table, and the claims they name beside the
 * connections' chains in the audit table, whose records have no expiry and stay), ended operations, and discovery's ended connections
 * (after 90 days) and scan summaries (after 7) (RETENTION_SCHEDULE, daily).
 */
export function retentionTimer(deps: AppDeps): TimerDefinition {
  return {
    name: 'retention',
    schedule: deps.config.storage.retentionSchedule,
    handler: async (context) => {
      const logger = deps.invocationLogger(context, { timer: 'retention' });
      const now = deps.now();
      const { nonces, idempotency, audit, operations, discovery } = deps.stores.tables;
      const [marks, claims, ended, found] = await Promise.all([
        purgeExpired(nonces, now),
        purgeExpiredKeys(idempotency, audit, now),
        purgeEndedOperations(operations, now),
        purgeExpired(discovery, now),
      ]);
      logger.info('retention.purged', {
        replayMarks: marks,
        idempotencyRecords: claims,
        operations: ended,
        discovery: found,
      });
    },
  };
}
