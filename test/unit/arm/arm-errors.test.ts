import { describe, expect, it } from 'vitest';
import { parseCloudError } from '../../../src/arm/arm-errors.js';

describe('parseCloudError', () => {
  it("reads Resource Manager's error body", () => {
    const body = JSON.stringify({
      error: { code: 'Conflict', message: 'Another operation is in progress.' },
    });
    expect(parseCloudError(body)).toEqual({ code: 'Conflict', message: 'Another operation is in progress.' });
  });

  it("keeps a gateway's text page as the message, cut to 300 characters", () => {
    const page = `<html>Bad gateway${'.'.repeat(400)}</html>`;
    expect(parseCloudError(page)).toEqual({ message: page.slice(0, 300) });
  });

  it('shows nothing of a resource body (the connection read at the end of a wait): its ids are no message', () => {
    const connection = JSON.stringify({
      id: '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns/privateEndpointConnections/pe',
      properties: {
        provisioningState: 'Failed',
        privateEndpoint: { id: '/subscriptions/1111/…/pe-consumer' },
      },
    });
    expect(parseCloudError(connection)).toEqual({});
  });

  it('reads an error sent without the `error` wrapper, in either casing (App Service)', () => {
    expect(parseCloudError('{"Code":"BadRequest","Message":"The request is invalid."}')).toEqual({
      code: 'BadRequest',
      message: 'The request is invalid.',
    });
    expect(parseCloudError('{"code":"Conflict","message":"busy"}')).toEqual({
      code: 'Conflict',
      message: 'busy',
    });
    expect(parseCloudError('{"message":"An error has occurred."}')).toEqual({
      message: 'An error has occurred.',
    });
  });

  it('keeps any other JSON as text, as before', () => {
    expect(parseCloudError('{"error":"invalid_request"}')).toEqual({
      message: '{"error":"invalid_request"}',
    });
    expect(parseCloudError('"maintenance"')).toEqual({ message: '"maintenance"' });
  });

  it('has nothing to say of an empty body', () => {
    expect(parseCloudError(undefined)).toEqual({});
    expect(parseCloudError('')).toEqual({});
  });
});
