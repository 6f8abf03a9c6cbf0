import { createHttpHeaders, createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { toSecretError } from '../../../src/secrets/classify-error.js';
import { SecretNotFoundError, SecretsUnavailableError } from '../../../src/secrets/errors.js';

function restError(status: number, code: string, headers: Record<string, string> = {}): RestError {
  const request = createPipelineRequest({ url: 'https://example.vault.azure.net/secrets/s/' });
  return new RestError(`status ${status}`, {
    statusCode: status,
    code,
    request,
    response: { status, headers: createHttpHeaders(headers), request },
  });
}

describe('toSecretError', () => {
  it('maps 404 to SecretNotFoundError', () => {
    const error = toSecretError(restError(404, 'SecretNotFound'), 'webhook-secret', 5);
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error).toMatchObject({ secretName: 'webhook-secret', reason: 'missing' });
  });

  it.each([
    [503, 'ServiceUnavailable'],
    [500, 'InternalServerError'],
    [429, 'Throttled'],
    [403, 'Forbidden'],
    [401, 'Unauthorized'],
  ])('maps %i to SecretsUnavailableError with status and code', (status, code) => {
    const error = toSecretError(restError(status, code), 's', 5);
    expect(error).toBeInstanceOf(SecretsUnavailableError);
    expect(error).toMatchObject({ status, code, retryAfterSeconds: 5, secretName: 's' });
  });

  it("takes Key Vault's Retry-After in seconds, capped", () => {
    expect(toSecretError(restError(429, 'Throttled', { 'retry-after': '17' }), 's', 5)).toMatchObject({
      retryAfterSeconds: 17,
    });
    expect(toSecretError(restError(429, 'Throttled', { 'retry-after': '86400' }), 's', 5)).toMatchObject({
      retryAfterSeconds: 300,
    });
    expect(toSecretError(restError(503, 'X', { 'retry-after': 'soon' }), 's', 5)).toMatchObject({
      retryAfterSeconds: 5,
    });
  });

  it('maps transport and credential errors to SecretsUnavailableError with their code', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(toSecretError(refused, 's', 3)).toMatchObject({ code: 'ECONNREFUSED', status: undefined });
    const credential = new Error('no identity');
    credential.name = 'CredentialUnavailableError';
    expect(toSecretError(credential, 's', 3)).toMatchObject({ code: 'CredentialUnavailableError' });
    expect(toSecretError('a string', 's', 3)).toBeInstanceOf(SecretsUnavailableError);
  });

  it('passes typed errors through unchanged', () => {
    const notFound = new SecretNotFoundError('s', 'no-valid-version');
    expect(toSecretError(notFound, 's', 5)).toBe(notFound);
  });

  it('keeps neither the request nor the response of the SDK error', () => {
    const error = toSecretError(restError(500, 'InternalServerError'), 's', 5);
    expect(Object.values(error).some((value) => value instanceof Object && 'headers' in value)).toBe(false);
    expect('cause' in error).toBe(false);
  });
});
