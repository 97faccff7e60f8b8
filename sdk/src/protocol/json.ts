import { MAX_VALUE_BYTES } from './keys.js'

/**
 * Parses JSON from an untrusted agent. The length check comes first because JSON.parse blocks the
 * event loop (about 4 ms per MB) and deep nesting can overflow the stack; both become errors here.
 * The bound is in UTF-8 bytes, as the protocol states it: a character count would let text of
 * 3-byte characters through at three times the size.
 */
export function parseAgentJson(raw: string, maxBytes: number = MAX_VALUE_BYTES): { ok: true; value: unknown } | { ok: false; error: string } {
  // a UTF-16 unit is at most 3 UTF-8 bytes, so short values need no byte count
  const bytes = raw.length * 3 <= maxBytes ? raw.length : Buffer.byteLength(raw, 'utf8')
  if (bytes > maxBytes) return { ok: false, error: `value is ${bytes} bytes, over ${maxBytes}` }
  try {
    return { ok: true, value: JSON.parse(raw) as unknown }
  } catch (error) {
    const reason = error instanceof RangeError ? 'nesting too deep' : 'malformed JSON'
    return { ok: false, error: reason }
  }
}
