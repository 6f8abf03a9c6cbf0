import { describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../../src/model/approval.js';
import { validateApprovalRequest } from '../../../src/generated/source-validators.js';
import { validatorOf } from '../../../src/sources/schema-validator.js';

const validate = validatorOf<ApprovalRequest>(validateApprovalRequest);
const id =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/privateendpointconnection1';

describe('ApprovalRequest schema', () => {
  it('accepts the documented example', () => {
    const result = validate({
      connectionId: id,
      decision: 'Approved',
      description: 'optional',
      ticket: {
        system: 'servicenow',
        id: 'CHG0031234',
        state: 'implement',
        url: 'https://x.service-now.com/c',
      },
      requester: 'alice@contoso.com',
      approver: 'bob@contoso.com',
    });
    expect(result.ok).toBe(true);
  });

  it('accepts the minimal request', () => {
    expect(validate({ connectionId: id, decision: 'Rejected' }).ok).toBe(true);
  });

  it('lists every error as a JSON pointer with a message', () => {
    const result = validate({ decision: 'approve', extra: 1, ticket: { id: '', url: 'ftp://x' } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const pointers = result.errors.map((e) => e.pointer).sort();
    expect(pointers).toEqual(
      ['/connectionId', '/decision', '/extra', '/ticket/id', '/ticket/system', '/ticket/url'].sort(),
    );
    expect(result.errors.find((e) => e.pointer === '/decision')?.message).toContain('"Approved"');
    expect(result.errors.every((e) => e.message.length > 0)).toBe(true);
  });

  it.each([
    ['an array', []],
    ['a string', 'Approved'],
    ['null', null],
    ['a number decision', { connectionId: id, decision: 1 }],
    ['lowercase decision', { connectionId: id, decision: 'approved' }],
    ['an over-long description', { connectionId: id, decision: 'Approved', description: 'x'.repeat(1025) }],
    ['an empty approver', { connectionId: id, decision: 'Approved', approver: '' }],
  ])('refuses %s', (_label, body) => {
    expect(validate(body).ok).toBe(false);
  });

  it.each([[null], [[]], ['x'], [42]])(
    'points at the whole body with "" (RFC 6901), not "/", for %j',
    (body) => {
      const result = validate(body);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors).toEqual([{ pointer: '', message: 'must be object' }]);
    },
  );
});
