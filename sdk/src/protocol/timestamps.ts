/**
 * Timestamps are epoch milliseconds. An agent that writes seconds (PHP's `time()`, Python's
 * `int(time.time())`) is common enough to read rather than reject: as milliseconds, values from
 * 1e9 up to 1e11 fall between 12 January 1970 and 3 March 1973, which no running clock writes,
 * while as seconds they are 2001 to 5138. Below 1e9 neither reading is plausible, and the value is
 * left as it is (the console flags it as far behind).
 */
export const SECONDS_FROM = 1e9
export const SECONDS_BELOW = 1e11

export const SECONDS_REASON = 'in seconds, not milliseconds: read as seconds'

/** A finite timestamp in milliseconds, and whether it was written in seconds. */
export function toMillis(timestamp: number): { ms: number; seconds: boolean } {
  return timestamp >= SECONDS_FROM && timestamp < SECONDS_BELOW ? { ms: timestamp * 1000, seconds: true } : { ms: timestamp, seconds: false }
}
