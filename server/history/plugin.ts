/**
 * History: records every snapshot into Redis (a collector listener) and decorates `app.history`,
 * which serves recent samples from memory (sparklines, free per viewer) and longer ranges from
 * Redis (charts, read when a person opens a node or queue page). Serves the history API the charts
 * read.
 */
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import type { Snapshot } from '../collector/snapshot.js'
import { nodeRows, type RowAdapter, type SeriesRow } from './adapters.js'
import { RANGE_PLAN, RAW, type Range, type SeriesKind } from './metrics.js'
import { replicaName } from '../runtime/replica-name.js'
import { createHistoryRecorder, type RecentPoint, type RecorderStats } from './recorder.js'
import type { RecentRing } from './recent-ring.js'
import { toPoints, windowOf, type HistoryPoint } from './service.js'
import { nodeSparklines, type NodeSparklines } from './sparkline.js'
import { createHistoryStore } from './store.js'
import historyRoutes from './routes.js'

export interface HistoryService {
  /** the last raw samples of a node (at most 30, oldest first), from memory */
  recent(service: string, nodeId: string): readonly RecentPoint[]
  recentQueue(service: string, queue: string): readonly RecentPoint[]
  /** the node card's sparklines (CPU, memory, lag), measured from memory, for views/history/sparkline.eta */
  sparklines(service: string, nodeId: string): NodeSparklines
  /** one range of a series from Redis, oldest first */
  read(kind: SeriesKind, service: string, id: string, range: Range): Promise<{ bucketMs: number; points: HistoryPoint[] }>
  /** whether Redis still holds any history of the series (up to 7 days after its last sample) */
  exists(kind: SeriesKind, service: string, id: string): Promise<boolean>
  readonly stats: RecorderStats
  /**
   * Record the rows this adapter turns each snapshot into, from the next snapshot on. Areas above
   * history (queues) register theirs here, so history imports none of them.
   */
  addRows(adapter: RowAdapter): void
  /** the rows every registered adapter makes of this snapshot (the API asks whether a series is listed) */
  rowsOf(snapshot: Snapshot): SeriesRow[]
}

declare module 'fastify' {
  interface FastifyInstance {
    history: HistoryService
  }
}

export interface HistoryPluginOptions {
  clock: Clock
  /** the write loop hands the event loop back after this long (see runtime/slices.ts) */
  sliceMs: number
  /** the collector's tick: the writer lease lasts a few of them */
  tickMs: number
}

/**
 * The writer lease lasts this many ticks, and at least one raw bucket: a holder that misses a tick
 * or two (a slow tick under load) keeps it, and one that stops is replaced within seconds.
 */
const LEASE_TICKS = 5

export default fp<HistoryPluginOptions>(
  async (app, options) => {
    const store = createHistoryStore(app.redis, app.keys, { sliceMs: options.sliceMs })
    // the recorder reads this list on every snapshot: an adapter added later is recorded from then on
    const adapters: RowAdapter[] = [nodeRows]
    const lease = { replica: replicaName(), leaseMs: Math.max(LEASE_TICKS * options.tickMs, RAW.bucketMs) }
    const recorder = createHistoryRecorder({ store, adapters, log: app.log.child({ area: 'history' }), lease })
    app.collector.onSnapshot((snapshot) => recorder.record(snapshot))
    app.addHook('onClose', () => recorder.close())
    // a ring is replaced, never changed in place, when a sample arrives: the same ring object
    // always measures the same drawing, so each card's sparklines are measured once per new sample
    const drawn = new WeakMap<RecentRing, NodeSparklines>()
    const sparklines = (service: string, nodeId: string): NodeSparklines => {
      const ring = recorder.recent('node', service, nodeId)
      let lines = drawn.get(ring)
      if (!lines) drawn.set(ring, (lines = nodeSparklines(ring)))
      return lines
    }

    app.decorate('history', {
      recent: (service: string, nodeId: string) => recorder.recent('node', service, nodeId).points(),
      recentQueue: (service: string, queue: string) => recorder.recent('queue', service, queue).points(),
      sparklines,
      async read(kind: SeriesKind, service: string, id: string, range: Range) {
        const { resolution, from, to } = windowOf(range, options.clock())
        const buckets = await store.read({ kind, service, id }, resolution, from, to)
        return { bucketMs: RANGE_PLAN[range].resolution.bucketMs, points: toPoints(kind, resolution, buckets) }
      },
      exists: (kind: SeriesKind, service: string, id: string) => store.exists({ kind, service, id }, options.clock()),
      stats: recorder.stats,
      addRows: (adapter: RowAdapter) => {
        adapters.push(adapter)
      },
      rowsOf: (snapshot: Snapshot) => adapters.flatMap((adapter) => adapter(snapshot)),
    } satisfies HistoryService)

    await app.register(historyRoutes)
  },
  { name: 'zenith-history', dependencies: ['zenith-collector', 'zenith-redis'] },
)
