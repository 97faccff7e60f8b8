/**
 * Which Redis the console talks to, checked at start and after every reconnect (a failover can
 * land on an older server). Too old a server still serves most of the console, so it is a
 * warning in the log and in `/readyz`, not a refusal: agents cannot read their commands below
 * 6.2, and the slow log is not read below 7. On a Cluster every master is asked.
 */
import { isCluster, type RedisClient } from './client.js'
import type { FastifyBaseLogger } from 'fastify'

interface Requirement {
  minimum: readonly [major: number, minor: number]
  need: string
}

const REQUIREMENTS: readonly Requirement[] = [
  { minimum: [6, 2], need: 'agents read their commands with XRANGE from an exclusive start, so commands never run' },
  { minimum: [7, 0], need: 'the slow log is read by a read-only script (flags=no-writes), so it stays empty' },
]

/** `redis_version` of an `INFO server` reply (Valkey reports the Redis version it matches). */
export function parseRedisVersion(info: string): string | null {
  const match = /^redis_version:(\d+\.\d+(?:\.\d+)?)\s*$/m.exec(info)
  return match ? match[1]! : null
}

/** One line per requirement the version misses; none for an unknown version (nothing to say). */
export function versionWarnings(version: string | null): string[] {
  if (version === null) return []
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return REQUIREMENTS.filter(({ minimum: [needMajor, needMinor] }) => major < needMajor || (major === needMajor && minor < needMinor)).map(
    ({ minimum, need }) => `Redis ${version} is older than ${minimum.join('.')}: ${need}`,
  )
}

/**
 * The server's version; on a Cluster the oldest master's, since a command is only as supported as
 * on the master that holds its key (a rolling upgrade leaves masters of two versions for a while).
 * INFO through a Cluster client would go to one random master.
 */
async function lowestVersion(redis: RedisClient): Promise<string | null> {
  if (!isCluster(redis)) return parseRedisVersion(await redis.info('server'))
  const versions = await Promise.all(redis.nodes('master').map(async (node) => parseRedisVersion(await node.info('server'))))
  const known = versions.filter((version): version is string => version !== null)
  return known.length === 0 ? null : known.reduce((oldest, version) => (compareVersions(version, oldest) < 0 ? version : oldest))
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)]
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0)
  return 0
}

export interface RedisVersionState {
  /** null until the first check answered */
  readonly version: string | null
  readonly warnings: readonly string[]
}

/**
 * Checks now if the connection is ready, and on every later `ready`. Warnings go to the log when
 * they change, so a reconnect to the same server logs nothing new. A failed INFO (Redis went away
 * again) keeps the last state; the next `ready` checks again.
 */
export function watchRedisVersion(redis: RedisClient, log: FastifyBaseLogger) {
  let state: RedisVersionState = { version: null, warnings: [] }
  let checking: Promise<void> | null = null

  async function check(): Promise<void> {
    const version = await lowestVersion(redis)
    const warnings = versionWarnings(version)
    if (version !== state.version) {
      for (const warning of warnings) log.warn({ redisVersion: version }, warning)
    }
    state = { version, warnings }
  }

  const onReady = () => {
    checking = check().catch(() => {})
  }
  redis.on('ready', onReady)
  if (redis.status === 'ready') onReady()

  return {
    get state(): RedisVersionState {
      return state
    },
    /** resolves when the check in flight (if any) is done; for start-up and tests */
    settled: () => checking ?? Promise.resolve(),
    stop: () => void redis.off('ready', onReady),
  }
}

export type RedisVersionWatch = ReturnType<typeof watchRedisVersion>
