import type { AppDeps } from '../composition-root.js';
import type { TimerDefinition } from '../http/route-types.js';
import { purgeChainMarks, purgeEndedOperations, purgeExpired, purgeExpiredKeys } from '../store/retention.js';

/**
 * Timer: deletes expired replay marks (in their table, and those kept beside the connections' chains in the audit
 * table), idempotency records (in their table, and the claims they name beside the chains; the chains' records
 * have no expiry and stay), ended operations, and discovery's ended connections (after 90 days) and scan
 * summaries (after 7) (RETENTION_SCHEDULE, daily).
 */
export function retentionTimer(deps: AppDeps): TimerDefinition {
  return {
    name: 'retention',
    schedule: deps.config.storage.retentionSchedule,
    handler: async (context) => {
      const logger = deps.invocationLogger(context, { timer: 'retention' });
      const now = deps.now();
      const { nonces, idempotency, audit, operations, discovery } = deps.stores.tables;
      const [marks, chainMarks, claims, ended, found] = await Promise.all([
        purgeExpired(nonces, now),
        purgeChainMarks(audit, now),
        purgeExpiredKeys(idempotency, audit, now),
        purgeEndedOperations(operations, now),
        purgeExpired(discovery, now),
      ]);
      logger.info('retention.purged', {
        replayMarks: marks + chainMarks,
        idempotencyRecords: claims,
        operations: ended,
        discovery: found,
      });
    },
  };
}
