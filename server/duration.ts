/**
 * Durations as people write them, for the command line and the alert rules file alike: `500ms`,
 * `30s`, `5m`, `1h`, `7d`, or a bare number of milliseconds.
 */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/**
 * The milliseconds `text` says, or null when it is no duration. With `bareMs: false` a number
 * without a unit is refused unless it is `0`, where a unit is expected and `300` is more likely a
 * forgotten `s` than 300 ms.
 */
export function parseDuration(text: string, { bareMs = true }: { bareMs?: boolean } = {}): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text)
  if (!match) return null
  const unit = match[2] as keyof typeof UNIT_MS | undefined
  if (!unit && !bareMs && Number(match[1]) !== 0) return null
  return Math.round(Number(match[1]) * UNIT_MS[unit ?? 'ms'])
}

/** The shortest exact form: 300000 → `5m`, 1500 → `1500ms`, 0 → `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`
  }
  return `${ms}ms`
}
