/** Body limits and content types, checked before anything looks at the bytes' meaning. */

export const MAX_BODY_BYTES = 64 * 1024;

/** Reads at most `limit + 1` bytes, so an oversized body is detected without buffering all of it. */
export async function readLimited(
  stream: AsyncIterable<Uint8Array> | null | undefined,
  limit: number,
): Promise<{ body: Uint8Array; tooLarge: boolean }> {
  if (!stream) return { body: new Uint8Array(0), tooLarge: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const room = limit + 1 - size;
    const piece = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
    chunks.push(piece);
    size += piece.byteLength;
    if (size > limit) return { body: concat(chunks, size), tooLarge: true };
  }
  return { body: concat(chunks, size), tooLarge: false };
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
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

export function isFormContentType(contentType: string | undefined): boolean {
  return mediaType(contentType) === 'application/x-www-form-urlencoded';
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
