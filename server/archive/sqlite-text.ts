/**
 * Turns searched text into FTS5 syntax that cannot be anything but a phrase: whatever a user
 * types (`"`, `NEAR(`, `*`, `AND`, `^`, `:`) ends up inside double quotes with its own quotes
 * doubled, so FTS5 only ever sees string literals and the tokenizer decides what the words are.
 * Text without a single letter or digit has no words to match; such text is matched as a plain
 * substring instead (see sqlite-search.ts), never sent to FTS5, which would find nothing.
 */

const WORD_CHARACTER = /[\p{L}\p{N}]/u

/** Longest text taken from one searched word or phrase; more cannot be a real word. */
export const MAX_SEARCH_TEXT = 512

export function hasWords(text: string): boolean {
  return WORD_CHARACTER.test(text)
}

/** The text as one FTS5 phrase: a string literal with its quotes doubled (NUL dropped: it ends a C string). */
export function ftsPhrase(text: string): string {
  return `"${text.slice(0, MAX_SEARCH_TEXT).replaceAll('\u0000', '').replaceAll('"', '""')}"`
}

export const ERROR_COLUMNS = '{failed_reason stack}'

/**
 * The FTS5 expression for an error phrase and free words (all must match), or null when none of
 * them has a word in it. Free words search every indexed column (name, failed reason, stack).
 */
export function ftsExpression(error: string | undefined, words: readonly string[]): string | null {
  const parts: string[] = []
  if (error !== undefined && hasWords(error)) parts.push(`${ERROR_COLUMNS} : ${ftsPhrase(error)}`)
  for (const word of words) if (hasWords(word)) parts.push(ftsPhrase(word))
  return parts.length === 0 ? null : parts.join(' AND ')
}

/**
 * A JSON path for json_extract and `->` built from object keys, or null when a key cannot be
 * written into one (SQLite's path syntax has no escape for `"`; such a key matches nothing).
 */
export function jsonPath(keys: readonly string[]): string | null {
  if (keys.length === 0 || keys.length > 16) return null
  let path = '$'
  for (const key of keys) {
    if (key === '' || key.length > 128 || key.includes('"') || key.includes('\\') || [...key].some((char) => char < ' ')) return null
    path += `."${key}"`
  }
  return path
}
