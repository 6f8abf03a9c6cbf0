import type { ErrorObject, ValidateFunction } from 'ajv';
import type { FieldError } from '../model/refusal.js';

export type { FieldError };

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/**
 * A payload validator over one schema compiled at build time (src/generated/source-validators.ts, made by
 * build/generate-validators.mjs from ./schemas/*.schema.json with Ajv's standalone code: strict, every error,
 * ajv-formats). Nothing is compiled when the app starts or serves.
 */
export function validatorOf<T>(validate: ValidateFunction): (data: unknown) => Validation<T> {
  return (data: unknown): Validation<T> =>
    validate(data) ? { ok: true, value: data as T } : { ok: false, errors: toFieldErrors(validate.errors) };
}

export function toFieldErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((e) => {
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
      return {
        pointer: `${e.instancePath}/${escapePointer(params.missingProperty)}`,
        message: `is required`,
      };
    }
    if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
      return {
        pointer: `${e.instancePath}/${escapePointer(params.additionalProperty)}`,
        message: 'is not an allowed property',
      };
    }
    if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
      return {
        pointer: e.instancePath,
        message: `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`,
      };
    }
    return { pointer: e.instancePath, message: e.message ?? 'is invalid' };
  });
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}
