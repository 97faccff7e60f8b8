/** Durations on the command line: plain milliseconds (`300000`) or a number with a unit (`500ms`, `30s`, `5m`, `1h`). */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const

export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text)
  if (!match) throw new Error('must be milliseconds or a number with ms, s, m or h (e.g. 300000, 30s, 5m)')
  const unit = (match[2] ?? 'ms') as keyof typeof UNIT_MS
  return Math.round(Number(match[1]) * UNIT_MS[unit])
}

/** The shortest exact form: 300000 → `5m`, 1500 → `1500ms`. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`
  }
  return `${ms}ms`
}
