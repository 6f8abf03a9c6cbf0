/** Body limits and content types, checked before anything looks at the bytes' meaning. */

import type { Readable } from 'node:stream';

export const MAX_BODY_BYTES = 64 * 1024;

export interface LimitedBody {
  body: Uint8Array;
  tooLarge: boolean;
}

/** Reads at most `limit + 1` bytes, so an oversized body is detected without buffering all of it. */
export async function readLimited(
  stream: AsyncIterable<Uint8Array> | null | undefined,
  limit: number,
): Promise<LimitedBody> {
  const collected = new Collected(limit);
  if (stream) {
    for await (const chunk of stream) if (!collected.add(chunk)) break;
  }
  return collected.result();
}

/** A Node.js stream of the local host, the same way: by its events, which cost far less than an async iterator. */
export function readLimitedEvents(stream: Readable, limit: number): Promise<LimitedBody> {
  const collected = new Collected(limit);
  return new Promise((resolve, reject) => {
    const onData = (chunk: Uint8Array): void => {
      if (collected.add(chunk)) return;
      // Over the limit: stop reading; the caller answers 413 and closes the connection. Not destroy(): on a
      // server's request that destroys the socket too, before the 413 could be written.
      stream.off('data', onData);
      stream.pause();
      resolve(collected.result());
    };
    stream.on('data', onData);
    stream.once('end', () => resolve(collected.result()));
    stream.once('error', reject);
  });
}

/** The bytes read so far, up to `limit + 1`. */
class Collected {
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  constructor(readonly limit: number) {}

  /** false once the body is over the limit: read no further. */
  add(chunk: Uint8Array): boolean {
    const room = this.limit + 1 - this.#size;
    const piece = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(piece);
    this.#size += piece.byteLength;
    return this.#size <= this.limit;
  }

  result(): LimitedBody {
    return { body: concat(this.#chunks, this.#size), tooLarge: this.#size > this.limit };
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** A declared Content-Length over the limit is refused before reading a byte. */
export function declaredTooLarge(contentLength: string | undefined, limit: number): boolean {
  if (contentLength === undefined) return false;
  const n = Number(contentLength);
  return Number.isFinite(n) && n > limit;
}

/** The media type without parameters, lower-cased: `application/json; charset=utf-8` → `application/json`. */
export function mediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

/** JSON or any `+json` suffix type; a charset other than UTF-8 is refused (RFC 8259 requires UTF-8). */
export function isJsonContentType(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  if (type !== 'application/json' && !(type?.startsWith('application/') && type.endsWith('+json')))
    return false;
  return isUtf8(contentType);
}

/** A form, in UTF-8 (what Slack sends): a form in another charset is refused like JSON in one. */
export function isFormContentType(contentType: string | undefined): boolean {
  return mediaType(contentType) === 'application/x-www-form-urlencoded' && isUtf8(contentType);
}

function isUtf8(contentType: string | undefined): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

/**
 * A form body's fields, decoded strictly: a percent-encoding that is not UTF-8 (`%FF`) makes it undefined, where
 * URLSearchParams would put U+FFFD in its place.
 */
export function parseForm(text: string): URLSearchParams | undefined {
  const form = new URLSearchParams();
  // As the URL standard splits a form: on `&`, empty sequences skipped, then at the first `=`.
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    try {
      form.append(
        formDecode(at < 0 ? pair : pair.slice(0, at)),
        at < 0 ? '' : formDecode(pair.slice(at + 1)),
      );
    } catch {
      return undefined;
    }
  }
  return form;
}

/** `+` is a space; a percent-encoding that is not UTF-8 throws. */
function formDecode(part: string): string {
  return decodeURIComponent(part.replace(/\+/g, ' '));
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 decoding: invalid byte sequences are a client error, not U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
