/**
 * Buffers slow records and writes them to the service's stream. Slow records are events, not
 * state: unlike a heartbeat, one recorded while Redis is away is still worth sending when it
 * returns. The buffer is bounded (oldest dropped first), flushes never overlap, the timer is
 * unref'd, and nothing here throws into the host.
 */
import type { AgentRedis } from '../client.js'
import { SLOW_STREAM_MAXLEN, slowEntryFields, slowRecordSchema, type SlowRecord } from '../protocol/index.js'

export interface SlowRecorderOptions {
  redis: AgentRedis
  streamKey: string
  nodeId: string
  report: (error: unknown) => void
  /** records kept while Redis is away */
  maxBuffered?: number
  flushEveryMs?: number
  now?: () => number
}

interface Pending {
  record: SlowRecord
  timestamp: number
}

export const DEFAULT_SLOW_BUFFER = 500

export function createSlowRecorder(options: SlowRecorderOptions) {
  const maxBuffered = options.maxBuffered ?? DEFAULT_SLOW_BUFFER
  const now = options.now ?? Date.now
  let buffer: Pending[] = []
  let dropped = 0
  let flushing: Promise<void> | null = null
  const timer = setInterval(() => void flush(), options.flushEveryMs ?? 1_000)
  timer.unref()

  function record(input: unknown): boolean {
    const parsed = slowRecordSchema.safeParse(input)
    if (!parsed.success) {
      options.report(new TypeError(`recordSlow: ${parsed.error.issues[0]?.path.join('.') || 'record'} ${parsed.error.issues[0]?.message ?? 'invalid'}; record dropped`))
      return false
    }
    buffer.push({ record: parsed.data, timestamp: now() })
    if (buffer.length > maxBuffered) {
      dropped += buffer.length - maxBuffered
      buffer = buffer.slice(buffer.length - maxBuffered)
    }
    return true
  }

  function flush(): Promise<void> {
    flushing ??= flushOnce().finally(() => {
      flushing = null
    })
    return flushing
  }

  async function flushOnce(): Promise<void> {
    if (dropped > 0) {
      options.report(new Error(`slow log buffer full: ${dropped} oldest records dropped`))
      dropped = 0
    }
    if (buffer.length === 0 || options.redis.status !== 'ready') return
    const batch = buffer
    buffer = []
    try {
      const pipeline = options.redis.pipeline()
      for (const { record, timestamp } of batch) {
        pipeline.xadd(options.streamKey, 'MAXLEN', '~', String(SLOW_STREAM_MAXLEN), '*', ...slowEntryFields(record, timestamp, options.nodeId))
      }
      const results = (await pipeline.exec()) ?? []
      const failed = results.findIndex(([error]) => error)
      if (failed >= 0) throw results[failed]![0]
    } catch (error) {
      // back in front of anything recorded meanwhile, still within the bound; a partly written
      // batch may be sent twice, which a slow log can bear better than losing it
      buffer = [...batch, ...buffer].slice(-maxBuffered)
      options.report(error)
    }
  }

  async function stop(): Promise<void> {
    clearInterval(timer)
    await flush().catch(() => {})
  }

  return {
    record,
    flush,
    stop,
    get buffered() {
      return buffer.length
    },
  }
}

export type SlowRecorder = ReturnType<typeof createSlowRecorder>
