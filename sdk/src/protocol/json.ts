import { MAX_VALUE_BYTES } from './keys.js'

/**
 * Parses JSON from an untrusted agent. The length check comes first because JSON.parse blocks the
 * event loop (about 4 ms per MB) and deep nesting can overflow the stack; both become errors here.
 */
export function parseAgentJson(
  raw: string,
  maxBytes: number = MAX_VALUE_BYTES,
): { ok: true; value: unknown } | { ok: false; error: string } {
  if (raw.length > maxBytes) return { ok: false, error: `value is ${raw.length} bytes, over ${maxBytes}` }
  try {
    return { ok: true, value: JSON.parse(raw) as unknown }
  } catch (error) {
    const reason = error instanceof RangeError ? 'nesting too deep' : 'malformed JSON'
    return { ok: false, error: reason }
  }
}
