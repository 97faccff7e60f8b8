/**
 * `npm run bench`: every measurement side by side with its baseline, in one run, written to
 * BENCHMARKS.md. Machines are noisy: read the ratios, not the absolute times.
 * Options: --quick (fewer runs, shorter loads), --only collector,responsiveness,fragments,pulse-page,queues,attack,memory,archive-ingest,archive-search,archive-memory,metrics,cluster,replicas
 */
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { startRedis } from '../test/helpers/redis-server.js'
import { benchCollector } from './collector.js'
import { benchFragments } from './fragments.js'
import { benchPulsePage } from './pulse-page.js'
import { benchResponsiveness } from './responsiveness.js'
import { benchQueues } from './queues.js'
import { benchAttack } from './attack.js'
import { benchMemory, PAGE_EVERY_MS } from './memory.js'
import { renderReport } from './report.js'
import { benchArchiveIngest, benchArchiveSearch } from './archive.js'
import { renderArchiveReport } from './archive-report.js'
import { benchArchiveMemory, renderArchiveMemory } from './archive-memory.js'
import { benchMetrics } from './metrics.js'
import { renderMetricsReport } from './metrics-report.js'
import { benchCluster } from './cluster.js'
import { benchReplicas } from './replicas.js'
import { renderScaleReport } from './scale-report.js'
import { updateBenchmarks, type MeasuredSection } from './document.js'
import { Redis } from 'ioredis'

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } })
const only = new Set((values.only ?? 'collector,responsiveness,fragments,pulse-page,queues,attack,memory,archive-ingest,archive-search,archive-memory,metrics,cluster,replicas').split(','))
const quick = values.quick

const redis = await startRedis()
try {
  const sections: MeasuredSection[] = []
  if (only.has('collector')) {
    const rows = await benchCollector(redis.url, [1_000, 10_000], quick ? 5 : 15)
    sections.push({ id: 'collector', markdown: renderReport.collector(rows) })
    console.table(rows)
  }
  if (only.has('responsiveness')) {
    const rows = await benchResponsiveness(redis.url, 20_000, quick ? 2 : 5)
    sections.push({ id: 'responsiveness', markdown: renderReport.responsiveness(rows) })
    console.table(rows)
  }
  if (only.has('fragments')) {
    const rows = await benchFragments(redis.url, 1_000, quick ? 3 : 10)
    sections.push({ id: 'fragments', markdown: renderReport.fragments(rows) })
    console.table(rows)
  }
  if (only.has('pulse-page')) {
    const rows = await benchPulsePage(redis.url, 20_000, quick ? 3 : 10)
    sections.push({ id: 'pulse-page', markdown: renderReport.pulsePage(rows) })
    console.table(rows)
  }
  if (only.has('queues')) {
    const result = await benchQueues(redis.url, 20, 10_000, quick ? 3 : 10)
    sections.push({ id: 'queues', markdown: renderReport.queues(result) })
    console.table(result.load)
  }
  if (only.has('attack')) {
    const result = await benchAttack(1_000, quick ? 8 : 20)
    sections.push({ id: 'attack', markdown: renderReport.attack(result) })
    console.table(result.rows)
  }
  if (only.has('memory')) {
    const options = { nodes: 10_000, warmupMs: 45_000, sampleMs: quick ? 30_000 : 90_000, pageEveryMs: PAGE_EVERY_MS }
    const rows = await benchMemory(redis.url, options)
    sections.push({ id: 'memory', markdown: renderReport.memory(rows, options) })
    console.table(rows)
  }
  if (only.has('archive-ingest')) {
    const runs = quick ? 1 : 3
    const result = await benchArchiveIngest(quick ? 20_000 : 100_000, 500, runs)
    sections.push({ id: 'archive-ingest', markdown: renderArchiveReport.ingest(result, runs) })
    console.table(result.rows)
  }
  if (only.has('archive-search')) {
    const [runs, naiveRuns] = quick ? [10, 1] : [40, 3]
    const result = await benchArchiveSearch(quick ? 100_000 : 1_000_000, runs, naiveRuns)
    sections.push({ id: 'archive-search', markdown: renderArchiveReport.search(result, runs, naiveRuns) })
    console.table(result.rows)
  }
  if (only.has('archive-memory')) {
    const options = { rate: 500, warmupMs: quick ? 10_000 : 20_000, sampleMs: quick ? 20_000 : 60_000 }
    const rows = await benchArchiveMemory(redis.url, options)
    sections.push({ id: 'archive-memory', markdown: renderArchiveMemory(rows, options) })
    console.table(rows)
  }
  if (only.has('metrics')) {
    const result = await benchMetrics(redis.url, 10_000, quick ? 10 : 40)
    sections.push({ id: 'metrics', markdown: renderMetricsReport(result) })
    console.table(result.rows)
  }
  if (only.has('cluster')) {
    const result = await benchCluster(quick ? 6 : 12)
    sections.push({ id: 'cluster', markdown: renderScaleReport.cluster(result) })
    console.table(result.rows)
  }
  if (only.has('replicas')) {
    const result = await benchReplicas({ ticks: quick ? 3 : 6, replicas: [1, 3], cluster: true })
    sections.push({ id: 'replicas', markdown: renderScaleReport.replicas(result) })
    console.table(result.rows.map(({ byCommand, ...row }) => ({ ...row, top: byCommand.slice(0, 4).join(' ') })))
  }
  const client = new Redis(redis.url)
  const redisVersion = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? 'unknown'
  client.disconnect()
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, redis-server ${redisVersion}`
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
  const stamp = `Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` on ${machine}.`
  updateBenchmarks(new URL('../BENCHMARKS.md', import.meta.url).pathname, sections, stamp)
  console.log('wrote BENCHMARKS.md')
} finally {
  await redis.stop()
}
