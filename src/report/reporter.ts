import type { ReportTarget } from '../model/approval.js';
import type { SecretProvider } from '../secrets/secret-provider.js';
import { postToSlack, postToTeams } from './chat-post.js';
import type { Outbound } from './outbound.js';
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
  now: () => number;
}

/** Sends one late outcome where its caller will see it; never throws — a failure is a report with `ok: false`. */
export function createReporter(deps: ReporterDeps): Reporter {
  return {
    async deliver(target, message) {
      const at = new Date(deps.now()).toISOString();
      try {
        const detail = await send(deps, target, message);
        return { to: target.kind, at, ok: true, ...(detail ? { detail } : {}) };
      } catch (error) {
        return {
          to: target.kind,
          at,
          ok: false,
          detail: error instanceof Error ? error.message.slice(0, 300) : 'failed',
        };
      }
    },
  };
}

async function send(
  deps: ReporterDeps,
  target: ReportTarget,
  message: ReportMessage,
): Promise<string | undefined> {
  switch (target.kind) {
    case 'location':
      return 'the answer waits at its Location URL';
    case 'servicenow':
      if (!deps.writeWorkNote) return 'no ServiceNow instance configured (SERVICENOW_INSTANCE_URL)';
      await deps.writeWorkNote(target.sysId, message.text);
      return undefined;
    case 'slack':
      await postToSlack(deps.http, target.responseUrl, message.text, message.ok);
      return undefined;
    case 'teams': {
      if (!deps.secrets) return 'no Key Vault configured';
      const posted = await postToTeams(deps.http, deps.secrets, deps.teamsWorkflowSecretName, message.text);
      return posted === 'posted'
        ? undefined
        : `no Teams workflow URL in Key Vault (${deps.teamsWorkflowSecretName})`;
    }
  }
}
