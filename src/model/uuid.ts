/**
 * A UUID (GUID) in its canonical text form, any version, either case: tenant and subscription ids, client ids and
 * request ids alike.
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
