/** Markdown for BENCHMARKS.md. */
import type { CollectorResult } from './collector.js'
import type { LoadResult } from './fragments.js'

function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}

export const renderReport = {
  collector(rows: CollectorResult[]): string {
    return [
      '## Collector refresh vs raw pipelined read',
      '',
      'One collector tick (index read, SCAN step, type- and size-checked read, JSON parse, schema check) beside the floor: a pipelined `MGET` of the same heartbeat keys with no parsing. Runs alternate, median of each. Aim: 10k nodes within 2× the raw read.',
      '',
      table(
        ['nodes', 'raw MGET median (ms)', 'collector median (ms)', 'collector p95 (ms)', 'collector / raw'],
        rows.map((r) => [r.nodes, r.rawMedianMs, r.collectorMedianMs, r.collectorP95Ms, `${r.ratio}×`]),
      ),
    ].join('\n')
  },
  fragments(rows: LoadResult[]): string {
    const [ours, naive] = rows
    const speedup = ours && naive ? Math.round((ours.requestsPerSec / Math.max(1, naive.requestsPerSec)) * 10) / 10 : Number.NaN
    return [
      '## `/pulse` fragment under load: 1,000 nodes, 50 concurrent clients',
      '',
      'The same server process serves both: our fragment route (built from the collector snapshot, rendered once per snapshot version) and a naive handler that SCANs and reads Redis and renders on every request. Load from autocannon in a separate process, sending `Accept-Encoding: gzip` as a browser does (ours answers with the fragment gzipped once per render; the naive handler answers uncompressed). No `If-None-Match`: every request gets the full fragment, not a 304.',
      '',
      table(
        ['handler', 'requests/s', 'p95 (ms)', 'errors', 'non-2xx'],
        rows.map((r) => [r.handler, r.requestsPerSec, r.p95Ms, r.errors, r.non2xx]),
      ),
      '',
      `Throughput ratio (ours / naive): **${speedup}×**.`,
    ].join('\n')
  }
}
