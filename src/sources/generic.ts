import type { ApprovalRequest } from '../approval/model.js';
import approvalRequestSchema from './schemas/approval-request.schema.json' with { type: 'json' };
import type { FieldError, Validation } from './schema-validator.js';

/** The generic route's payload is the canonical request itself (DESIGN §2). */
export const genericSchema = approvalRequestSchema;

export type GenericValidator = (data: unknown) => Validation<ApprovalRequest>;

export type ParsedJson = { ok: true; value: unknown } | { ok: false; errors: FieldError[] };

/** JSON.parse with a message that says where the text went wrong. */
export function parseJson(text: string): ParsedJson {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const message = error instanceof Error ? error.message : 'unparseable';
    return { ok: false, errors: [{ pointer: '', message: `body is not valid JSON: ${message}` }] };
  }
}
