import type { ReportTarget } from '../model/approval.js';
import type { SecretProvider } from '../secrets/secret-provider.js';
import { postToSlack, postToTeams } from './chat-post.js';
import { allowedResponseUrl } from './response-url.js';
import type { Outbound } from './outbound.js';
import { ReportError } from './outbound.js';
import type { WorkNoteWriter } from './servicenow-work-note.js';

/** What is said about an outcome: the text, and whether it means "done" (Slack shows those to the channel). */
export interface ReportMessage {
  text: string;
  ok: boolean;
}

/** Who was told what, and when: kept in the audit record. */
export interface DeliveredReport {
  to: string;
  at: string;
  ok: boolean;
  detail?: string;
  /** false: nothing is set up to reach this caller (not worth trying again). */
  configured?: false;
  /** The platform refused it for good (400, 403, 404, 410): not worth trying again either. */
  refused?: true;
  /** The platform asked for this long before the next try (`Retry-After`, e.g. on a 429). */
  retryAfterSeconds?: number;
}

export interface Reporter {
  deliver(target: ReportTarget, message: ReportMessage): Promise<DeliveredReport>;
}

export interface ReporterDeps {
  http: Outbound;
  secrets?: SecretProvider;
  /** Absent when no ServiceNow instance is configured: ServiceNow outcomes then wait at their Location only. */
  writeWorkNote?: WorkNoteWriter;
  teamsWorkflowSecretName: string;
  slackResponseUrlHosts: readonly string[];
  now: () => number;
}

/**
 * Answers no retry can change: the request is wrong (400), the identity may not (403), the record, workflow or
 * response_url is gone (404, 410). A 401 is tried again: a ServiceNow token may just have expired.
 */
const REFUSED_FOR_GOOD: ReadonlySet<number> = new Set([400, 403, 404, 410]);

/**
 * The longest a platform's `Retry-After` is followed: ServiceNow's rate limits count per hour. A longer ask (or a
 * date far away) is not followed blindly: the try after an hour finds out again.
 */
export const MAX_REPORT_WAIT_SECONDS = 3600;

/** The platform's ask in whole seconds, at most an hour, when it asks for a wait at all. */
function waitSeconds(retryAfterMs: number | undefined): number | undefined {
  if (retryAfterMs === undefined || !(retryAfterMs > 0)) return undefined;
  return Math.min(Math.ceil(retryAfterMs / 1000), MAX_REPORT_WAIT_SECONDS);
}

/** Sends one late outcome where its caller will see it; never throws — a failure is a report with `ok: false`. */
export function createReporter(deps: ReporterDeps): Reporter {
  return {
    async deliver(target, message) {
      const at = new Date(deps.now()).toISOString();
      try {
        const sent = await send(deps, target, message);
        if (sent.configured === false)
          return { to: target.kind, at, ok: false, configured: false, detail: sent.detail };
        return { to: target.kind, at, ok: true, ...(sent.detail ? { detail: sent.detail } : {}) };
      } catch (error) {
        const refused = error instanceof ReportError && REFUSED_FOR_GOOD.has(error.status ?? 0);
        const wait = waitSeconds(error instanceof ReportError ? error.retryAfterMs : undefined);
        const message = error instanceof Error ? error.message.slice(0, 300) : 'failed';
        return {
          to: target.kind,
          at,
          ok: false,
          detail: wait === undefined ? message : `${message}, asking to wait ${wait} s`,
          ...(refused ? { refused: true as const } : {}),
          ...(wait === undefined ? {} : { retryAfterSeconds: wait }),
        };
      }
    },
  };
}

type Sent = { detail?: string; configured?: undefined } | { detail: string; configured: false };

async function send(deps: ReporterDeps, target: ReportTarget, message: ReportMessage): Promise<Sent> {
  switch (target.kind) {
    case 'location':
      return { detail: 'the answer waits at its Location URL' };
    case 'servicenow':
      if (!deps.writeWorkNote) {
        return { configured: false, detail: 'no ServiceNow instance configured (SERVICENOW_INSTANCE_URL)' };
      }
      await deps.writeWorkNote(target.sysId, message.text);
      return {};
    case 'slack': {
      // Checked again here: the URL was allowed when the command came, and must still be now.
      const url = allowedResponseUrl(target.responseUrl, deps.slackResponseUrlHosts);
      if (url === undefined)
        return { configured: false, detail: 'response_url is not on SLACK_RESPONSE_URL_HOSTS' };
      await postToSlack(deps.http, url, message.text, message.ok, target.replaceOriginal === true);
      return {};
    }
    case 'teams': {
      if (!deps.secrets) return { configured: false, detail: 'no Key Vault configured' };
      const posted = await postToTeams(deps.http, deps.secrets, deps.teamsWorkflowSecretName, message.text);
      // A Workflows webhook answers 202 before its flow runs: the post is the flow's to make (not in a private
      // channel, not once its owner is gone), and the record says no more than what is known.
      return posted === 'posted'
        ? { detail: 'accepted by the Teams workflow, which posts it to its channel' }
        : {
            configured: false,
            detail: `no Teams workflow URL in Key Vault (${deps.teamsWorkflowSecretName})`,
          };
    }
    default:
      throw new TypeError('unknown report target');
  }
}
