/**
 * Jobs per second from successive readings of one queue: how much its completed and failed counts
 * grew between two readings, over the time between them. Readings are keyed by their own time,
 * so a snapshot read again on the next tick (agents write every 10 s, the console reads every 2 s)
 * keeps its figure instead of counting zero growth. A completed count that went down was reset
 * (queue emptied, BullMQ trimming its completed set at a cap): that interval yields no figure. A
 * failed count that went down means jobs were retried or deleted, not that fewer failed, so it
 * counts as no failures.
 *
 * A `processed` counter (completed + failed, only growing: BullMQ's metrics) wins over both when
 * present: it keeps counting when finished jobs are removed (`removeOnComplete`), where the
 * completed count stays at zero. A series that switches between the two starts over.
 */
export interface Counters {
  completed?: number | undefined
  failed?: number | null | undefined
  processed?: number | undefined
}

interface Reading {
  t: number
  byProcessed: boolean
  completed: number
  failed: number
  rate: number | undefined
}

export function createThroughput(maxQueues = 20_000) {
  const readings = new Map<string, Reading>()

  return {
    /** the rate at reading time `t`, or undefined: no earlier reading, no completed count, or a reset */
    observe(id: string, t: number, counters: Counters): number | undefined {
      const byProcessed = counters.processed !== undefined
      // with a processed counter it stands in for `completed`, and there is no separate failed count
      const completed = counters.processed ?? counters.completed
      if (completed === undefined) {
        readings.delete(id)
        return undefined
      }
      const failed = byProcessed ? 0 : (counters.failed ?? 0)
      const previous = readings.get(id)
      if (previous && previous.t === t) return previous.rate
      let rate: number | undefined
      // an earlier time than the last reading (agent clock moved back) starts over from here
      if (previous && previous.byProcessed === byProcessed && t > previous.t && completed >= previous.completed) {
        const finished = completed - previous.completed + Math.max(0, failed - previous.failed)
        rate = Math.round((finished / ((t - previous.t) / 1000)) * 1000) / 1000
      }
      readings.delete(id)
      if (readings.size >= maxQueues) {
        const oldest = readings.keys().next().value
        if (oldest !== undefined) readings.delete(oldest)
      }
      readings.set(id, { t, byProcessed, completed, failed, rate })
      return rate
    },
    /** forgets queues that are gone, so the memory follows the queues that exist */
    retain(ids: ReadonlySet<string>): void {
      for (const id of readings.keys()) if (!ids.has(id)) readings.delete(id)
    },
  }
}

export type Throughput = ReturnType<typeof createThroughput>
