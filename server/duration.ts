/** Durations in a rules file: `500ms`, `3s`, `2m`, `1h`, or a number of milliseconds (`0`). */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const

/** The longest duration a rule may use; anything longer is almost surely a typo. */
export const MAX_DURATION_MS = 7 * 24 * 3_600_000

export function parseDuration(input: string | number): number | null {
  if (typeof input === 'number') return Number.isInteger(input) && input >= 0 ? input : null
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(input.trim())
  if (!match) return null
  const unit = match[2] as keyof typeof UNIT_MS | undefined
  // a bare number is milliseconds, but only `0` reads naturally without a unit
  if (!unit && Number(match[1]) !== 0) return null
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
