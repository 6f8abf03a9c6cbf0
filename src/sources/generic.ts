import type { ApprovalRequest } from '../approval/model.js';
import approvalRequestSchema from './schemas/approval-request.schema.json' with { type: 'json' };
import type { Validation } from './schema-validator.js';

/** The generic route's payload is the canonical request itself (DESIGN §2). */
export const genericSchema = approvalRequestSchema;

export type GenericValidator = (data: unknown) => Validation<ApprovalRequest>;
