import { parseJson } from '../http/json.js';
import { Refusal } from '../model/refusal.js';
import type { ConnectionId } from '../model/resource-id.js';
import { PROVIDERS } from '../model/provider-registry.js';
import { InvalidResourceIdError, parseConnectionId, UnknownResourceTypeError } from '../model/resource-id.js';
import { visible } from '../model/visible-text.js';
import type { Validation } from './schema-validator.js';

/** A JSON body checked against a source's schema; throws Refusal listing every error as a JSON pointer. */
export function parsePayload<T>(
  body: Uint8Array,
  validate: (data: unknown) => Validation<T>,
  what: string,
): T {
  const valid = validate(parseJson(body));
  if (valid.ok) return valid.value;
  throw new Refusal(
    'invalid-request',
    `The body does not match the ${what} schema: ${valid.errors.length} error(s), listed in "errors".`,
    {
      errors: valid.errors,
      reason: 'schema',
    },
  );
}

/** The connection id after the schema: 400 with a pointer at the field, before anything is sent anywhere. */
export function readConnectionId(value: string, pointer = '/connectionId'): ConnectionId {
  try {
    return parseConnectionId(value);
  } catch (error) {
    if (!(error instanceof InvalidResourceIdError)) throw error;
    const message = visible(error.message);
    throw new Refusal('invalid-resource-id', `${message}.`, {
      errors: [{ pointer, message }],
      reason: 'resource-id',
      ...(error instanceof UnknownResourceTypeError ? { supportedTypes: PROVIDERS.map((p) => p.type) } : {}),
    });
  }
}
