import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isFormContentType, parseForm, readLimited, readLimitedEvents } from '../../../src/http/body.js';

/** Both readers of a request body (the Functions one over an async iterable, the local host's over events). */

const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const chunked = (...parts: string[]): Readable => Readable.from(parts.map(bytes), { objectMode: true });

describe.each([
  ['readLimited', (s: Readable, limit: number) => readLimited(s, limit)],
  ['readLimitedEvents', (s: Readable, limit: number) => readLimitedEvents(s, limit)],
])('%s', (_name, read) => {
  it('joins the chunks of a body within the limit', async () => {
    const { body, tooLarge } = await read(chunked('{"a":', '1}'), 10);
    expect(Buffer.from(body).toString()).toBe('{"a":1}');
    expect(tooLarge).toBe(false);
  });

  it('accepts a body of exactly the limit', async () => {
    const { body, tooLarge } = await read(chunked('12345', '67890'), 10);
    expect(body.byteLength).toBe(10);
    expect(tooLarge).toBe(false);
  });

  it('stops one byte past the limit and says it is too large', async () => {
    const stream = chunked('12345', '67890', 'x', 'never read');
    const { body, tooLarge } = await read(stream, 10);
    expect(tooLarge).toBe(true);
    expect(body.byteLength).toBe(11);
  });

  it('reads an empty body as empty', async () => {
    const { body, tooLarge } = await read(chunked(), 10);
    expect(body.byteLength).toBe(0);
    expect(tooLarge).toBe(false);
  });
});

describe('readLimitedEvents', () => {
  it('rejects when the stream fails', async () => {
    const stream = new Readable({
      read() {
        this.destroy(new Error('socket hang up'));
      },
    });
    await expect(readLimitedEvents(stream, 10)).rejects.toThrow('socket hang up');
  });
});

describe('forms', () => {
  it('are UTF-8: another charset is not a form the routes take', () => {
    expect(isFormContentType('application/x-www-form-urlencoded')).toBe(true);
    expect(isFormContentType('Application/X-WWW-Form-Urlencoded; charset=UTF-8')).toBe(true);
    expect(isFormContentType('application/x-www-form-urlencoded; charset=latin1')).toBe(false);
  });

  it('decode strictly: a percent-encoding that is not UTF-8 is no form, not U+FFFD', () => {
    expect(parseForm('payload=%7B%7D&x=a+b%20c')?.get('x')).toBe('a b c');
    expect(parseForm('payload=%E2%82%AC')?.get('payload')).toBe('€');
    expect(parseForm('payload=%FF')).toBeUndefined();
    expect(parseForm('pay%C3load=1')).toBeUndefined();
    expect(parseForm('payload=%ZZ')).toBeUndefined();
  });
});
