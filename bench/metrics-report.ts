/** Markdown for the /metrics section of BENCHMARKS.md. */
import type { MetricsBenchResult } from './metrics.js'
import { round } from './stats.js'

function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}

const kb = (bytes: number) => round(bytes / 1024, 1)

export function renderMetricsReport(result: MetricsBenchResult): string {
  const [scrape, api] = result.rows as [MetricsBenchResult['rows'][number], MetricsBenchResult['rows'][number]]
  const ratio = (a: number, b: number) => `${round(a / b, a / b < 1 ? 2 : 1)}×`
  return [
    `## \`/metrics\` scrape against \`/api/pulse/nodes\` at ${result.nodes.toLocaleString('en')} nodes`,
    '',
    `One console over ${result.nodes.toLocaleString('en')} nodes in 20 services and ${result.queues} queues reported by agents, asked over HTTP on loopback with \`Accept-Encoding: gzip\`. Both answers come from the latest snapshot and send no Redis command. Each of ${result.runs} runs is one collector tick, then the first request of each endpoint after it (nothing of that snapshot rendered yet), then ${result.repeats} repeated requests of each (the API's answer is cached per snapshot; a scrape renders its text every time, from samples built once per snapshot). The endpoints alternate which goes first. Time is to the last byte.`,
    '',
    table(
      ['endpoint', 'KB', 'KB gzipped', 'first after a tick p50 (ms)', 'p95 (ms)', 'repeated p50 (ms)', 'p95 (ms)'],
      result.rows.map((r) => [`\`${r.endpoint}\``, kb(r.bytes), kb(r.gzipBytes), r.firstP50Ms, r.firstP95Ms, r.repeatP50Ms, r.repeatP95Ms]),
    ),
    '',
    `\`/api/pulse/nodes\` / \`/metrics\`: **${ratio(api.gzipBytes, scrape.gzipBytes)}** the bytes on the wire (${ratio(api.bytes, scrape.bytes)} uncompressed), **${ratio(api.firstP50Ms, scrape.firstP50Ms)}** the time for the first request after a tick, ${ratio(api.repeatP50Ms, scrape.repeatP50Ms)} for repeated ones (p50): a repeated API request sends a buffer kept for the snapshot, a scrape renders its text again (Prometheus scrapes every 15 s or more, ticks come every 2 s, so every scrape is a first one). A scrape's size follows the number of services, queues and firing rules, not of nodes: node ids are never labels. Load average during the run: ${result.loadAverage} (other work on the machine), so read the ratios.`,
  ].join('\n')
}
