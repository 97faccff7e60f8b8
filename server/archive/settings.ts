/**
 * What `--archive` and `--retention` say, read once at boot. A bad value stops the start with one
 * line naming the flag (server/cli/start.ts), never repeating the value: a PostgreSQL URL carries
 * its password.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { ARCHIVE_STATES, type ArchiveState } from '@gravito/quasar/protocol'
import { formatDuration, parseDuration } from '../duration.js'
import type { RetentionPolicy } from './store.js'

export type ArchiveTarget = { engine: 'off' } | { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string }

/** The archive file when `--archive` is not given: beside the embedded redis-server's data. */
export const DEFAULT_ARCHIVE_FILE = 'archive.sqlite'

/** `off`, `sqlite:<path>` or `postgres://…` (`postgresql://` too), as an engine and where it keeps its rows. */
export function parseArchiveTarget(text: string): ArchiveTarget {
  const value = text.trim()
  if (value === 'off') return { engine: 'off' }
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length)
    if (path.trim() === '') throw new Error('sqlite: needs a file path, e.g. sqlite:/var/lib/zenith/archive.sqlite')
    return { engine: 'sqlite', path }
  }
  if (/^postgres(ql)?:\/\//.test(value)) {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new Error('is not a valid postgres:// URL')
    }
    if (!url.hostname) throw new Error('postgres:// URL needs a host')
    return { engine: 'postgres', url: value }
  }
  throw new Error('must be off, sqlite:<path> or postgres://user@host/database')
}

const parsedTarget = z.union([z.object({ engine: z.literal('off') }), z.object({ engine: z.literal('sqlite'), path: z.string().min(1) }), z.object({ engine: z.literal('postgres'), url: z.string().min(1) })])

/** The text of the flag or env var, or a target already read from it (the CLI checks each flag as it reads it, then the whole config). */
export const archiveTargetSchema = textOrParsed(parseArchiveTarget, parsedTarget)

/** The archive to open: the configured one, else an SQLite file in the data folder. */
export function resolveArchiveTarget(archive: ArchiveTarget | undefined, dataDir: string): ArchiveTarget {
  return archive ?? { engine: 'sqlite', path: join(dataDir, DEFAULT_ARCHIVE_FILE) }
}

/**
 * Where the archive is, safe to show on a page or in a log: a PostgreSQL URL without its password
 * (nor user, nor query string, which may hold `password=` or an SSL key path).
 */
export function describeArchiveLocation(target: ArchiveTarget): string {
  if (target.engine === 'off') return 'off'
  if (target.engine === 'sqlite') return target.path
  try {
    const url = new URL(target.url)
    return `${url.protocol}//${url.host}${url.pathname}`
  } catch {
    return 'postgres'
  }
}

const DAY = 86_400_000
const SIZE_UNITS = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 } as const

/** Kept when `--retention` does not name a cap: a week of completed jobs, a month of failed ones, 5 GB. */
export const DEFAULT_RETENTION: RetentionPolicy = { maxAgeMs: { completed: 7 * DAY, failed: 30 * DAY }, maxBytes: 5 * 1024 ** 3 }

/** `5GB`, `500MB`, `1.5 GB` (units of 1024), in bytes; null when it is no size. A bare number is refused: `5` is more likely a forgotten unit than 5 bytes. */
export function parseSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)\s*$/i.exec(text)
  if (!match) return null
  return Math.round(Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase() as keyof typeof SIZE_UNITS])
}

/**
 * `completed=7d,failed=30d,max=5GB`: caps named here replace the defaults, the others keep them;
 * `off` lifts a cap. Each state and `max` may be named once.
 */
export function parseRetention(text: string): RetentionPolicy {
  const policy: RetentionPolicy = { maxAgeMs: { ...DEFAULT_RETENTION.maxAgeMs }, maxBytes: DEFAULT_RETENTION.maxBytes }
  const named = new Set<string>()
  for (const part of text.split(',')) {
    const match = /^\s*([a-z]+)\s*=\s*(.+?)\s*$/i.exec(part)
    if (!match) throw new Error('must be a list of state=duration and max=size, e.g. completed=7d,failed=30d,max=5GB')
    const key = match[1]!.toLowerCase()
    const value = match[2]!
    if (named.has(key)) throw new Error(`names ${key} twice`)
    named.add(key)
    if (key === 'max') {
      if (value.toLowerCase() === 'off') delete policy.maxBytes
      else {
        const bytes = parseSize(value)
        if (bytes === null || bytes <= 0) throw new Error('max must be a size such as 500MB or 5GB, or off')
        policy.maxBytes = bytes
      }
      continue
    }
    if (!(ARCHIVE_STATES as readonly string[]).includes(key)) throw new Error(`knows ${ARCHIVE_STATES.join(', ')} and max, not ${key.slice(0, 32)}`)
    const state = key as ArchiveState
    if (value.toLowerCase() === 'off') {
      delete policy.maxAgeMs[state]
      continue
    }
    const ms = parseDuration(value, { bareMs: false })
    if (ms === null || ms <= 0) throw new Error(`${state} must be a duration such as 12h, 7d or 30d, or off`)
    policy.maxAgeMs[state] = ms
  }
  return policy
}

const parsedPolicy = z.object({ maxAgeMs: z.object({ completed: z.number().positive().optional(), failed: z.number().positive().optional() }), maxBytes: z.number().positive().optional() })

/** The text of the flag or env var, or a policy already read from it. */
export const retentionSchema = textOrParsed(parseRetention, parsedPolicy)

/** One schema for a setting's text and for the value it reads as, with the parser's message as the only issue. */
function textOrParsed<T>(parse: (text: string) => T, parsed: z.ZodType<T>) {
  return z.union([z.string(), parsed]).transform((input, context): T => {
    if (typeof input !== 'string') return input
    try {
      return parse(input)
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message })
      return z.NEVER
    }
  })
}

/** A size in the largest unit that keeps it readable: 5368709120 → `5 GB`. */
export function formatSize(bytes: number): string {
  for (const unit of ['tb', 'gb', 'mb', 'kb'] as const) {
    const size = SIZE_UNITS[unit]
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit.toUpperCase()}`
  }
  return `${bytes} B`
}

/** The policy as the flag writes it, for the page and the log: `completed=7d,failed=30d,max=5 GB`. */
export function describeRetention(policy: RetentionPolicy): string {
  const parts = ARCHIVE_STATES.map((state) => {
    const ms = policy.maxAgeMs[state]
    return `${state}=${ms === undefined ? 'off' : formatAge(ms)}`
  })
  parts.push(`max=${policy.maxBytes === undefined ? 'off' : formatSize(policy.maxBytes)}`)
  return parts.join(',')
}

function formatAge(ms: number): string {
  return ms % DAY === 0 ? `${ms / DAY}d` : formatDuration(ms)
}
