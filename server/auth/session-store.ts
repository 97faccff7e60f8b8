/**
 * Sessions live in Redis, so every replica sees a logout, a timeout or a "log out everywhere" at
 * once. The cookie carries only a random id; Redis keeps the record under a SHA-256 of that id,
 * so whoever can read the console's keys still cannot make a cookie from them.
 *
 * Cost: one GET per request that carries a session cookie, plus one write per session and minute
 * at most (the idle clock is moved forward only when it is a minute old, so the idle timeout is
 * counted to the minute). Times come from the console's clock; the Redis TTL only collects
 * records nobody asks for again.
 *
 * Every method throws when Redis does not answer: the guard then fails closed.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { RedisClient } from '../redis/client.js'
import { z } from 'zod'
import { createBatch } from '../redis/batch.js'
import type { ConsoleKeys } from '../redis/keys.js'
import { usernameSchema } from './users.js'

/** a session ends this long after its login, however busy */
export const SESSION_TTL_MS = 12 * 60 * 60_000
/** ... or after this long without a request */
export const SESSION_IDLE_MS = 30 * 60_000
/** how stale the recorded last request may get before a request writes it again */
export const SESSION_TOUCH_MS = 60_000
/** a user's oldest sessions end beyond this many, so logging in in a loop cannot grow Redis */
export const MAX_SESSIONS_PER_USER = 50

const storedSessionSchema = z.object({
  /** username */
  u: usernameSchema,
  /** digest of the credential logged in with (credentials.ts); a changed password no longer matches */
  fp: z.string().max(64),
  /** the session's CSRF token: random, so it is bound to this session and dies with it */
  csrf: z.string().regex(/^[A-Za-z0-9_-]{32,64}$/),
  /** login time, epoch ms */
  created: z.number().int().nonnegative(),
  /** last request seen (to the minute), epoch ms */
  seen: z.number().int().nonnegative(),
})

export type StoredSession = z.infer<typeof storedSessionSchema>

export interface SessionStore {
  /** A new session for `username`; the id goes into the cookie and nowhere else. */
  create(username: string, fingerprint: string, now: number): Promise<{ id: string; session: StoredSession }>
  /** The live session behind a cookie id; null when unknown, ended, idle too long or too old. */
  find(id: string, now: number): Promise<StoredSession | null>
  /** Ends one session. */
  end(id: string, username: string): Promise<void>
  /** Ends every session of `username`; resolves with how many there were. */
  endUser(username: string): Promise<number>
  /** Ends every session of every user; resolves with how many there were. */
  endAll(): Promise<number>
  /** How many sessions `username` has that have not reached their absolute end. */
  count(username: string, now: number): Promise<number>
}

/** ids are 256 random bits: the cookie signature is not what keeps them unguessable */
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/
/** a record is a few hundred bytes; anything much larger was not written by us */
const MAX_RECORD_BYTES = 4096
/** keys per DEL, so ending thousands of sessions never builds one huge command */
const DELETE_CHUNK = 500

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('base64url')
}

export function createSessionStore(redis: RedisClient, keys: ConsoleKeys): SessionStore {
  /** the session's keys share one slot, so MULTI keeps them consistent on a Cluster too */
  const transaction = () => createBatch({ pipeline: () => redis.multi() })

  /** how long Redis should keep a record: until its idle or absolute end, whichever is first */
  const ttlOf = (session: StoredSession, now: number) => Math.max(1, Math.min(session.created + SESSION_TTL_MS, session.seen + SESSION_IDLE_MS) - now)

  async function deleteSessions(idHashes: readonly string[]): Promise<void> {
    for (let start = 0; start < idHashes.length; start += DELETE_CHUNK) {
      await redis.del(...idHashes.slice(start, start + DELETE_CHUNK).map((idHash) => keys.authSession(idHash)))
    }
  }

  async function end(id: string, username: string): Promise<void> {
    const idHash = hashSessionId(id)
    const batch = transaction()
    batch.add((pipeline) => pipeline.del(keys.authSession(idHash)))
    batch.add((pipeline) => pipeline.zrem(keys.authUserSessions(username), idHash))
    await batch.exec()
  }

  async function endUser(username: string): Promise<number> {
    // read and drop the index in one step: a login after it starts a new index, never a lost entry
    const batch = transaction()
    const listed = batch.add<string[]>((pipeline) => pipeline.zrange(keys.authUserSessions(username), 0, -1))
    batch.add((pipeline) => pipeline.del(keys.authUserSessions(username)))
    batch.add((pipeline) => pipeline.srem(keys.authUsers(), username))
    await batch.exec()
    const reply = listed.reply
    if (!reply.ok) throw reply.error
    await deleteSessions(reply.value)
    return reply.value.length
  }

  return {
    async create(username, fingerprint, now) {
      const id = randomBytes(32).toString('base64url')
      const idHash = hashSessionId(id)
      const session: StoredSession = { u: username, fp: fingerprint, csrf: randomBytes(32).toString('base64url'), created: now, seen: now }
      const index = keys.authUserSessions(username)
      const batch = transaction()
      const stored = batch.add((pipeline) => pipeline.set(keys.authSession(idHash), JSON.stringify(session), 'PX', ttlOf(session, now)))
      batch.add((pipeline) => pipeline.zadd(index, now + SESSION_TTL_MS, idHash))
      batch.add((pipeline) => pipeline.zremrangebyscore(index, '-inf', now))
      // all but the newest MAX_SESSIONS_PER_USER (scored by their end, so the oldest logins first)
      const evicted = batch.add<string[]>((pipeline) => pipeline.zrange(index, 0, -(MAX_SESSIONS_PER_USER + 1)))
      batch.add((pipeline) => pipeline.zremrangebyrank(index, 0, -(MAX_SESSIONS_PER_USER + 1)))
      batch.add((pipeline) => pipeline.pexpire(index, SESSION_TTL_MS))
      batch.add((pipeline) => pipeline.sadd(keys.authUsers(), username))
      batch.add((pipeline) => pipeline.pexpire(keys.authUsers(), SESSION_TTL_MS))
      await batch.exec()
      if (!stored.reply.ok) throw stored.reply.error
      await deleteSessions(evicted.valueOr([]))
      return { id, session }
    },

    async find(id, now) {
      if (!ID_PATTERN.test(id)) return null
      const key = keys.authSession(hashSessionId(id))
      const raw = await redis.get(key)
      if (raw === null || raw.length > MAX_RECORD_BYTES) return null
      let parsed: ReturnType<typeof storedSessionSchema.safeParse>
      try {
        parsed = storedSessionSchema.safeParse(JSON.parse(raw))
      } catch {
        return null
      }
      if (!parsed.success) return null
      const session = parsed.data
      if (now >= session.created + SESSION_TTL_MS || now >= session.seen + SESSION_IDLE_MS) {
        await end(id, session.u)
        return null
      }
      if (now - session.seen >= SESSION_TOUCH_MS) {
        const touched = { ...session, seen: now }
        // XX: a logout that won the race stays a logout; this request was already let in
        await redis.set(key, JSON.stringify(touched), 'PX', ttlOf(touched, now), 'XX')
        return touched
      }
      return session
    },

    end,
    endUser,

    async endAll() {
      const usernames = await redis.smembers(keys.authUsers())
      let ended = 0
      for (const username of usernames) ended += await endUser(username)
      return ended
    },

    async count(username, now) {
      return redis.zcount(keys.authUserSessions(username), `(${now}`, '+inf')
    },
  }
}
