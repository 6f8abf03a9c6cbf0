import { Ajv } from 'ajv';
import type { AnySchema, ErrorObject, ValidateFunction } from 'ajv';
import formats from 'ajv-formats';

// ajv-formats is CommonJS: Node hands ESM the module object, whose `default` is the plugin.
const addFormats = formats.default;

import type { FieldError } from '../model/refusal.js';

export type { FieldError };

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/**
 * One Ajv instance per process, strict and reporting every error; each schema file is compiled once when its
 * validator is created (at composition), never per request.
 */
export function createValidatorFactory(): <T>(schema: AnySchema) => (data: unknown) => Validation<T> {
  const ajv = new Ajv({ strict: true, allErrors: true });
  addFormats(ajv);
  return <T>(schema: AnySchema) => {
    const id = typeof schema === 'object' && schema !== null && '$id' in schema ? schema.$id : undefined;
    const existing = typeof id === 'string' ? ajv.getSchema(id) : undefined;
    const validate = (existing ?? ajv.compile(schema)) as ValidateFunction;
    return (data: unknown): Validation<T> =>
      validate(data) ? { ok: true, value: data as T } : { ok: false, errors: toFieldErrors(validate.errors) };
  };
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
        pointer: e.instancePath || '/',
        message: `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`,
      };
    }
    return { pointer: e.instancePath || '/', message: e.message ?? 'is invalid' };
  });
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}
