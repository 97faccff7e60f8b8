/**
 * What keeps a beat from reaching Redis late. A heartbeat says "this node was alive, with these
 * values, at `timestamp`"; written seconds later (after a Redis pause, a failover, a host event
 * loop that blocked) it would tell the console about a moment that is gone. So:
 * - a beat older than MAX_BEAT_AGE_MS at the moment it is written is dropped;
 * - at most one beat is ever unanswered: while Redis has not answered the last one, new beats are
 *   skipped instead of piling up in a paused server's socket;
 * - the one unanswered beat is withdrawn once it turns stale, by closing the agent's own
 *   connection: a paused Redis (`CLIENT PAUSE`, as during a failover) discards what a closed client
 *   sent and never ran. A server that is stopped or busy reads the bytes later anyway, so there at
 *   most that one beat lands late. A connection the host gave the agent is never closed.
 * Every drop is reported to onError as a BeatDroppedError and counted, except a beat skipped
 * because the connection is not ready before it has ever been, within FIRST_CONNECT_GRACE_MS of
 * the start: an app starts its agent before the connection is up as a matter of course, and the
 * agent beats at once on the first 'ready', so nothing is lost and nothing is wrong. Such a beat
 * is counted (notReady) but not reported. Past the grace, a Redis never reached is reported.
 */
import type { Command } from 'ioredis'
import type { AgentRedis } from './client.js'
import { awaitsReply } from './transport.js'

/** Oldest a beat may be when it is written (ms); a couple of beats' worth of jitter, no more. */
export const MAX_BEAT_AGE_MS = 2_000

/**
 * How long beats may quietly wait for the first connection: a couple of connect attempts with
 * their backoff, well under the 30 s after which the console reads a silent node as lost.
 */
export const FIRST_CONNECT_GRACE_MS = 15_000

export type BeatDropReason = 'stale' | 'unanswered' | 'not-ready' | 'withdrawn'

/** Reported to onError for every beat that was not written, or withdrawn after it was sent. */
export class BeatDroppedError extends Error {
  readonly reason: BeatDropReason
  constructor(reason: BeatDropReason, message: string) {
    super(message)
    this.name = 'BeatDroppedError'
    this.reason = reason
  }
}

/** Beats written, and beats dropped by reason, since the agent started. */
export interface BeatCounts {
  written: number
  /** built too long before it could be written */
  stale: number
  /** skipped because Redis had not answered the previous beat */
  unanswered: number
  /** skipped because the connection was not ready */
  notReady: number
  /** sent, unanswered when it turned stale, and withdrawn by closing the connection */
  withdrawn: number
}

export interface BeatGuardOptions {
  redis: AgentRedis
  /** the agent opened this connection, so it may close it to withdraw a beat */
  owned: boolean
  now: () => number
  report: (error: unknown) => void
}

export function createBeatGuard({ redis, owned, now, report }: BeatGuardOptions) {
  const counts: BeatCounts = { written: 0, stale: 0, unanswered: 0, notReady: 0, withdrawn: 0 }
  /** the last beat's SET, until Redis answers it or the connection closes */
  let lastSent: Command | null = null
  let withdrawal: NodeJS.Timeout | null = null
  const startedAt = now()
  /** the connection has been ready at least once since the agent started */
  let connectedOnce = redis.status === 'ready'
  const onReady = () => {
    connectedOnce = true
  }
  if (!connectedOnce) redis.once('ready', onReady)

  function drop(reason: Exclude<BeatDropReason, 'withdrawn'>, message: string): false {
    counts[reason === 'not-ready' ? 'notReady' : reason]++
    report(new BeatDroppedError(reason, message))
    return false
  }

  function withdrawIfUnanswered(write: Command): void {
    withdrawal = null
    if (write !== lastSent || !awaitsReply(redis, write) || redis.status !== 'ready') return
    counts.withdrawn++
    report(new BeatDroppedError('withdrawn', `beat unanswered after ${MAX_BEAT_AGE_MS} ms (Redis paused or hung); connection closed so it is not run late`))
    // reconnects with the usual backoff; autoResendUnfulfilledCommands is off, so it is not re-sent
    redis.disconnect(true)
  }

  return {
    get counts(): Readonly<BeatCounts> {
      return { ...counts }
    },

    /** True while Redis has not answered the previous beat: this one must not be built. */
    previousUnanswered(): boolean {
      if (lastSent !== null && awaitsReply(redis, lastSent)) return true
      lastSent = null
      return false
    },

    /**
     * Called at the last moment before the write, with nothing awaited in between: false (and
     * the beat reported) when it is too old to go out.
     */
    fresh(builtAt: number): boolean {
      const ageMs = now() - builtAt
      if (ageMs <= MAX_BEAT_AGE_MS) return true
      return drop('stale', `beat built ${ageMs} ms before it could be written (limit ${MAX_BEAT_AGE_MS} ms); dropped`)
    },

    notReady(status: string): false {
      // dropped, not queued: a beat is only true when it is written
      const waitingForFirstConnect = !connectedOnce && now() - startedAt < FIRST_CONNECT_GRACE_MS
      if (!waitingForFirstConnect) return drop('not-ready', `redis not ready (${status}); beat dropped`)
      // before the first connection: quiet (see the top of this file)
      counts.notReady++
      return false
    },

    skipUnanswered(): false {
      return drop('unanswered', 'Redis has not answered the previous beat yet; beat skipped')
    },

    /** The beat's SET was handed to the socket: watched until Redis answers it. */
    sent(write: Command, builtAt: number): void {
      lastSent = write
      if (withdrawal) clearTimeout(withdrawal)
      withdrawal = null
      if (!owned) return
      withdrawal = setTimeout(() => withdrawIfUnanswered(write), Math.max(0, builtAt + MAX_BEAT_AGE_MS - now()) + 1)
      withdrawal.unref()
    },

    written(): void {
      counts.written++
    },

    stop(): void {
      redis.off('ready', onReady)
      if (withdrawal) clearTimeout(withdrawal)
      withdrawal = null
    },
  }
}

export type BeatGuard = ReturnType<typeof createBeatGuard>
