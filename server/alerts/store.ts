/**
 * The alerts' shared state in Redis, which is what lets several console replicas act as one:
 * - the firing hash holds one entry per open episode; `HSETNX` makes exactly one replica its owner,
 *   and only the owner records the event and sends the message;
 * - the cool-down key is claimed before any firing message, so whichever replica sees the
 *   condition first sends it and the others find it taken. Its name holds only the rule and the
 *   target, never a tick time, so two replicas evaluating slightly different ticks claim the same
 *   key. It holds the cool-down's end on the console's clock (the same clock the engine uses), and
 *   its Redis expiry only cleans it up;
 * - the notified hash remembers that a firing message went out, so exactly one resolve message
 *   follows it (the replica whose `HDEL` removed the episode);
 * - the history stream holds events and delivery results, capped by length.
 * Each transition is one Lua script, so no other replica can act between its reads and writes.
 * Scripts and history entries are sent in batches (`transitions()`, `history()`): each script stays
 * atomic on its own, which is all the replicas rely on, and a mass event (a Redis restart losing
 * 5,000 nodes) costs two round trips per batch instead of two per alert.
 */
import { createHash } from 'node:crypto'
import type { RedisClient } from '../redis/client.js'
import type { Slot } from '../redis/batch.js'
import type { ConsoleKeys } from '../redis/keys.js'
import type { BadDataLog } from '../collector/bad-data-log.js'
import { readKey, type KeyRead } from '../redis/key-errors.js'
import { pipelineBySlot, type SlotGroupedBatch } from '../redis/shards.js'
import type { DeliveryRecord, FiringRecord, HistoryEvent } from './schemas.js'

/** The field of a rule and target in the firing and notified hashes. */
export function alertField(rule: string, target: string): string {
  return `${rule}|${target}`
}

/** Stream entries kept: events plus their delivery results, about 500 events with two channels. */
export const HISTORY_MAXLEN = 2000

// Claims the cool-down (KEYS[3]) when it is over: ARGV now, until (now + cool-down), cool-down ms.
const CLAIM = `
local function claim(key, now, until_, ttl)
  local current = redis.call('GET', key)
  if current and tonumber(current) and tonumber(current) > tonumber(now) then return false end
  redis.call('SET', key, until_, 'PX', ttl)
  return true
end`

const FIRE = `${CLAIM}
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[3] == '1' and claim(KEYS[3], ARGV[4], ARGV[5], ARGV[6]) then
  redis.call('HSET', KEYS[2], ARGV[1], '1')
  return 2
end
return 1`

const REMIND = `${CLAIM}
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if not claim(KEYS[3], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], '1')
return 1`

const CLOSE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
return 1 + redis.call('HDEL', KEYS[2], ARGV[1])`

interface Script {
  readonly lua: string
  readonly sha: string
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') }
}

const SCRIPTS = { fire: script(FIRE), remind: script(REMIND), close: script(CLOSE) }

/** owner: this replica owns the new episode; `send` says whether its firing message goes out */
export type FireResult = { owner: false } | { owner: true; send: boolean }
/** owner: this replica closed the episode; `announce`: a firing message had gone out for it */
export type CloseResult = { owner: false } | { owner: true; announce: boolean }

export function createAlertStore(redis: RedisClient, keys: ConsoleKeys) {
  const firing = keys.alertsFiring()
  const notified = keys.alertsNotified()
  const history = keys.alertsHistory()

  /**
   * Transitions sent together by `exec`. Each call returns a reader of its own result, to call
   * after `exec`; a reader throws that transition's Redis error, so one failed script fails one
   * alert, not its neighbours.
   */
  function transitions() {
    // every alert key shares the `{alerts}` hash tag: one slot, one pipeline, on a Cluster too
    const batch = pipelineBySlot(redis)
    const call = scriptCaller(batch)
    return {
      /** Opens an episode at `now`; with `wantMessage`, also claims the cool-down for its message. */
      fire(record: FiringRecord, now: number, cooldownMs: number, wantMessage: boolean): () => FireResult {
        const cooldown = keys.alertsCooldown(record.rule, record.target)
        const field = alertField(record.rule, record.target)
        const slot = call(SCRIPTS.fire, [firing, notified, cooldown], [field, JSON.stringify(record), wantMessage ? '1' : '0', ...claimArgs(now, cooldownMs)])
        return () => {
          const result = valueOf(slot)
          return result === 0 ? { owner: false } : { owner: true, send: result === 2 }
        }
      },
      /** Claims the repeat of a still-firing alert; false when another replica has it or it closed. */
      remind(rule: string, target: string, now: number, cooldownMs: number): () => boolean {
        const slot = call(SCRIPTS.remind, [firing, notified, keys.alertsCooldown(rule, target)], [alertField(rule, target), ...claimArgs(now, cooldownMs)])
        return () => valueOf(slot) === 1
      },
      close(rule: string, target: string): () => CloseResult {
        const slot = call(SCRIPTS.close, [firing, notified], [alertField(rule, target)])
        return () => {
          const result = valueOf(slot)
          return result === 0 ? { owner: false } : { owner: true, announce: result === 2 }
        }
      },
      exec: () => batch.exec(),
    }
  }

  /** History events appended together by `exec`; each reader returns its event's stream id. */
  function events() {
    const batch = pipelineBySlot(redis)
    return {
      record(event: HistoryEvent): () => string {
        const slot = batch.add<string | null>(history, (p) => p.xadd(history, 'MAXLEN', '~', HISTORY_MAXLEN, '*', 'e', JSON.stringify(event)))
        return () => {
          const id = valueOf(slot)
          if (!id) throw new Error('XADD returned no id')
          return id
        }
      },
      exec: () => batch.exec(),
    }
  }

  async function fire(record: FiringRecord, now: number, cooldownMs: number, wantMessage: boolean): Promise<FireResult> {
    const batch = transitions()
    const result = batch.fire(record, now, cooldownMs, wantMessage)
    await batch.exec()
    return result()
  }

  async function remind(rule: string, target: string, now: number, cooldownMs: number): Promise<boolean> {
    const batch = transitions()
    const result = batch.remind(rule, target, now, cooldownMs)
    await batch.exec()
    return result()
  }

  async function close(rule: string, target: string): Promise<CloseResult> {
    const batch = transitions()
    const result = batch.close(rule, target)
    await batch.exec()
    return result()
  }

  /** Appends an event; its stream id is the event's id. */
  async function recordEvent(event: HistoryEvent): Promise<string> {
    const batch = events()
    const id = batch.record(event)
    await batch.exec()
    return id()
  }

  async function recordDelivery(delivery: DeliveryRecord): Promise<void> {
    await redis.xadd(history, 'MAXLEN', '~', HISTORY_MAXLEN, '*', 'd', JSON.stringify(delivery))
  }

  return { transitions, events, fire, remind, close, recordEvent, recordDelivery }
}

export type AlertStore = ReturnType<typeof createAlertStore>

/**
 * Runs scripts by their SHA1 (EVALSHA), so a batch of 500 transitions sends each script's text
 * once, not 500 times (the text was most of the bytes written and of the garbage made). The first
 * call of each script in a batch is preceded by its SCRIPT LOAD in the same pipeline: one
 * connection answers in order, so the script is there even right after a Redis restart or a
 * SCRIPT FLUSH, and no NOSCRIPT reply ever needs a second round trip.
 */
function scriptCaller(batch: SlotGroupedBatch) {
  /** script and first key: the load goes under the call's first key, into the pipeline (and the Cluster node) that runs the call */
  const loaded = new Set<string>()
  return (script: Script, keys: [string, ...string[]], args: string[]): Slot<number> => {
    const [first] = keys
    const loadedAs = `${script.sha} ${first}`
    if (!loaded.has(loadedAs)) {
      loaded.add(loadedAs)
      // its reply (the SHA1 we already know) is not read: a failed load shows as NOSCRIPT below
      batch.add<string>(first, (p) => p.script('LOAD', script.lua))
    }
    return batch.add<number>(first, (p) => p.evalsha(script.sha, keys.length, ...keys, ...args))
  }
}

function valueOf<T>(slot: Slot<T>): T {
  const reply = slot.reply
  if (!reply.ok) throw reply.error
  return reply.value
}

function claimArgs(now: number, cooldownMs: number): [string, string, string] {
  return [String(now), String(now + cooldownMs), String(Math.max(1, cooldownMs))]
}

export type StreamEntry = [id: string, fields: string[]]

/** The alerts' state as one tick reads it; a key that could not be read is empty (and reported). */
export interface AlertStateRead {
  firing: Record<string, string>
  notified: Record<string, string>
  /** history entries in stream order, oldest first */
  entries: StreamEntry[]
}

/**
 * What the alerts collector part reads each tick, in one round trip: both hashes and the history
 * stream, the newest HISTORY_MAXLEN entries on the first read, then those after `lastId`. A key of
 * the wrong type (something else wrote it) reads as empty, reported, rather than failing the tick,
 * which would mark all of Redis as unreachable.
 */
export function createAlertStateReader(redis: RedisClient, keys: ConsoleKeys, badData: BadDataLog) {
  return async function readAlertState(lastId: string | null, readBatch: number): Promise<AlertStateRead> {
    const firingKey = keys.alertsFiring()
    const notifiedKey = keys.alertsNotified()
    const stream = keys.alertsHistory()
    const batch = pipelineBySlot(redis)
    const firingSlot = batch.add<Record<string, string>>(firingKey, (p) => p.hgetall(firingKey))
    const notifiedSlot = batch.add<Record<string, string>>(notifiedKey, (p) => p.hgetall(notifiedKey))
    const entriesSlot =
      lastId === null ? batch.add<StreamEntry[]>(stream, (p) => p.xrevrange(stream, '+', '-', 'COUNT', HISTORY_MAXLEN)) : batch.add<StreamEntry[]>(stream, (p) => p.xrange(stream, `(${lastId}`, '+', 'COUNT', readBatch))
    await batch.exec()
    const entries = orEmpty(readKey(entriesSlot, stream, badData), [])
    return {
      firing: orEmpty(readKey(firingSlot, firingKey, badData), {}),
      notified: orEmpty(readKey(notifiedSlot, notifiedKey, badData), {}),
      entries: lastId === null ? entries.reverse() : entries,
    }
  }
}

function orEmpty<T>(read: KeyRead<T>, empty: T): T {
  return read.ok ? read.value : empty
}
