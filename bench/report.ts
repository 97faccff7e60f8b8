/** Markdown for BENCHMARKS.md. */
import type { AttackResult } from './attack.js'
import type { CollectorResult } from './collector.js'
import type { LoadResult } from './fragments.js'
import type { QueuesBenchResult } from './queues.js'
import type { PulsePageRow } from './pulse-page.js'
import { BASELINE_COMMIT, SMALL_YOUNG_GENERATION, type MemoryOptions, type MemoryRow } from './memory.js'
import type { ResponsivenessRow } from './responsiveness.js'

function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}

export const renderReport = {
  pulsePage(rows: PulsePageRow[]): string {
    return [
      '## `/pulse` first page at 20,000 nodes',
      '',
      "The page a browser gets (gzip accepted), rendered from a new snapshot each run so no cached fragment is reused: its HTML, its gzipped bytes and the time from request to answer, including the view built over every node. The baseline is the commit before the fleet view, extracted with `git archive` and run in its own process over the same fleet in the same Redis (20,000 healthy nodes in 20 services, as written by the SDK). The fleet view's first page shows problem nodes and one row per service; with a healthy fleet that page has no cards, so a full page of cards (`?health=fresh`) and the table are measured too.",
      '',
      table(
        ['page', 'path', 'nodes', 'HTML (KB)', 'gzipped (KB)', 'render p50 (ms)', 'render p95 (ms)'],
        rows.map((r) => [r.page, `\`${r.path}\``, r.nodes, r.htmlKB, r.gzipKB, r.renderP50Ms, r.renderP95Ms]),
      ),
    ].join('\n')
  },
  collector(rows: CollectorResult[]): string {
    return [
      '## Collector refresh vs raw pipelined read',
      '',
      'One collector tick (index read with scores, SCAN step, type- and size-checked read, JSON parse, schema check) beside the floor: a pipelined `MGET` of all the heartbeat keys with no parsing. As in production (beats every 10 s, ticks every 2 s), a fifth of the nodes beat between two ticks; from 500 indexed nodes on the collector reads only those, and every key on every fifth tick (those ticks make the p95). Runs alternate, median of each. Aim: 10k nodes within 2× the raw read.',
      '',
      table(
        ['nodes', 'raw MGET median (ms)', 'collector median (ms)', 'collector p95 (ms)', 'collector / raw'],
        rows.map((r) => [r.nodes, r.rawMedianMs, r.collectorMedianMs, r.collectorP95Ms, `${r.ratio}×`]),
      ),
    ].join('\n')
  },
  responsiveness(rows: ResponsivenessRow[]): string {
    const block = (console: string, phase: string) => rows.find((r) => r.console === console && r.phase === phase)?.longestBlockMs ?? Number.NaN
    const ratio = (phase: string) => round2(block('never yields', phase) / block('sliced (20 ms)', phase))
    return [
      '## Requests during a tick over 20,000 nodes',
      '',
      'What a request waits for while the console reads a large fleet: the longest event-loop block during one collector tick (heartbeat parsing, history writes, alert evaluation, the queues part) and the slowest `/livez` answered over HTTP meanwhile. Two consoles on the same Redis in the same run: ours, whose fleet-wide loops hand the event loop back every 20 ms (`loopSliceMs`), and the same console with the slice set to an hour, so that those loops never yield. The first tick reads every node and creates every history series; in later ticks a fifth of the fleet has beaten. One tick for the first, the median of the later ones.',
      '',
      table(
        ['console', 'phase', 'tick (ms)', 'longest block (ms)', 'slowest /livez (ms)'],
        rows.map((r) => [r.console, r.phase, r.tickMs, r.longestBlockMs, r.slowestLivezMs]),
      ),
      '',
      `Longest block, never yielding / sliced: **${ratio('first tick')}×** on the first tick, **${ratio('later ticks')}×** on later ticks.`,
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
  },
  queues(result: QueuesBenchResult): string {
    const [ours, board] = result.load
    const speedup = ours && board ? Math.round((ours.requestsPerSec / Math.max(1, board.requestsPerSec)) * 10) / 10 : Number.NaN
    return [
      `## Queue overview: ${result.queues} BullMQ queues of ${result.jobsPerQueue.toLocaleString('en-US')} jobs each, 50 concurrent clients`,
      '',
      `Our \`GET /api/pulse/queues\` (built from the collector snapshot, serialised once per snapshot version) against bull-board's \`GET /api/queues\` (\`@bull-board/api\` with \`BullMQAdapter\`; on each request it asks Redis for every queue's counts, pause state, global concurrency, rate limit, schedulers and workers), both mounted on the same server process and reading the same Redis. The queues were found by the console's discovery (no agent). Both answers were checked to list every queue with its ${result.jobsPerQueue.toLocaleString('en-US')} waiting jobs before the load. "Idle" is the median of 30 requests one at a time; the load comes from autocannon in a separate process, sending \`Accept-Encoding: gzip\` as a browser does.`,
      '',
      table(
        ['handler', 'requests/s', 'p95 (ms)', 'idle median (ms)', 'body (bytes)', 'errors', 'non-2xx'],
        result.load.map((r) => [r.handler, r.requestsPerSec, r.p95Ms, r.idleMedianMs, r.bytes, r.errors, r.non2xx]),
      ),
      '',
      `Throughput ratio (ours / bull-board): **${speedup}×**.`,
      '',
      `What the console pays instead, whatever the number of viewers: one collector tick that re-reads all ${result.queues} queues (its share of the bounded SCAN walk, then pipelined counts, oldest waiting job and failed-job page) takes ${result.collectorReadMedianMs} ms median (p95 ${result.collectorReadP95Ms} ms), once every 10 s. Filling the queues with pipelined \`addBulk\` took ${result.fillSeconds} s.`,
    ].join('\n')
  },
  attack(result: AttackResult): string {
    return [
      `## \`/livez\` under attack: ${result.nodes.toLocaleString('en-US')} nodes, one hostile agent`,
      '',
      `The console as it runs in production (a child process, collector ticking every 2 s) serves a fleet of ${result.nodes.toLocaleString('en-US')} nodes that keep beating (a fifth of them every 2 s). ${result.clients} clients request \`/livez\` over HTTP one after the other for ${result.seconds} s, first as it is, then after one agent holding only the documented agent ACL (docs/security.md, its own service) wrote ${result.ghosts.toLocaleString('en-US')} members scored years ahead into the node index it may write and ${result.slowEntries} slow-log entries of ${result.slowEntryMb} MB each. Same console, same Redis, one run; the Redis server caps each client's unread replies at 2 GB. A request that fails or takes over 30 s counts as an error at the time it gave up. Aim: p99 with the attack within 2× the p99 without.`,
      '',
      table(
        ['phase', 'requests', 'p50 (ms)', 'p99 (ms)', 'max (ms)', 'errors', 'console max RSS (MB)', 'console log lines'],
        result.rows.map((r) => [r.phase, r.requests, r.p50Ms, r.p99Ms, r.maxMs, r.errors, r.maxRssMb, r.logLines]),
      ),
      '',
      `p99 with the attack / without: **${result.ratio}×** (aim: at most 2×).`,
    ].join('\n')
  },
  memory(rows: MemoryRow[], options: MemoryOptions): string {
    const seconds = (ms: number) => Math.round(ms / 1000)
    return [
      `## Console memory: ${options.nodes.toLocaleString('en-US')} nodes beating, /pulse viewed`,
      '',
      `The console as its bin runs it (\`node dist/server/cli.js start\`, default settings, self-monitoring on) in a child process, so the resident set is its own; RSS is read from \`/proc/<pid>/status\` (VmRSS) every second for ${seconds(options.sampleMs)} s, after ${seconds(options.warmupMs)} s of warm-up. Redis holds the fleet and five minutes of its history before the console starts, as for a console restarted beside a running fleet, so every node's recent samples (the sparklines) are in memory during the window. Meanwhile the bench writes the fleet's beats (every node every 10 s, a fifth of them every 2 s) and polls every 3 s like a viewer plus an API client: \`/pulse\` (every ${seconds(options.pageEveryMs)} s), \`/fragments/pulse/nodes\` (with If-None-Match, as htmx revalidates) and \`/api/pulse/nodes\`, gzip accepted. "Before" is the console at \`${BASELINE_COMMIT}\`, built from a temporary git worktree and measured the same way in the same run, right before. The last row is this checkout launched as \`npm start\` and the Docker image launch it: \`node ${SMALL_YOUNG_GENERATION.join(' ')}\` (a young generation of 2 × 4 MB instead of V8's 2 × 16 MB) with \`MALLOC_ARENA_MAX=2\` (glibc's malloc keeps 2 arenas instead of up to 8 per core); Node and glibc take both only at launch, so the bin cannot set them for itself. CPU is the console's user + system time over the window, as a share of one core; request times are medians over the window, as the bench saw them. Aim: median RSS under 200 MB.`,
      '',
      table(
        ['console', 'median RSS (MB)', 'p95 RSS (MB)', 'max RSS (MB)', 'CPU (% of a core)', '/pulse (ms)', 'fragment (ms)', 'nodes JSON (ms)', 'non-2xx'],
        rows.map((r) => [r.console, r.medianRssMb, r.p95RssMb, r.maxRssMb, r.cpuPercent, r.pageMedianMs, r.fragmentMedianMs, r.apiMedianMs, r.non2xx]),
      ),
      '',
      `Where the bare bin's memory goes (one analysis by hand on 2026-12-01, at 248 MB; this command does not repeat it), read from \`/proc/<pid>/smaps\` and \`v8.getHeapSpaceStatistics()\` under the same load: the node binary's own pages about 45 MB; V8's young generation 32 MB (two 16 MB semi-spaces, sized only at launch: \`v8.setFlagsFromString\` with \`--max-semi-space-size\` or a capped \`--semi-space-growth-factor\` changed nothing or grew the old generation instead); the old generation about 95 MB committed for 60–70 MB live after a full collection; malloc about 20 MB (46 MB before this round, when every render made a multi-megabyte string and its UTF-8 copy). What changed this round: the nodes region and the nodes JSON are compressed a service group at a time (no string of the whole body), the /pulse page reuses the region's cached compressed piece instead of rendering it again, node records keep a digest of their value instead of the value, and the page, fragment and JSON of one snapshot share one view. Under 200 MB needs the two launch settings that \`npm start\` and the Docker image use.`,
    ].join('\n')
  },
}

function round2(value: number): number {
  return Math.round(value * 100) / 100
}
