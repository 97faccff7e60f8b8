/** Markdown for the Cluster and replica sections of BENCHMARKS.md. */
import type { ClusterResult } from './cluster.js'
import type { ReplicasResult } from './replicas.js'
import type { FleetShape } from './fleet.js'

function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}

const REPRODUCE = 'Reproduce: `npm run build`, then `npx tsx bench/run.ts --only cluster,replicas` (it starts its own redis-server and a 3-master Cluster on loopback ports).'
/** commands shown one by one in the replicas breakdown; the rest are summed */
const TOP_COMMANDS = 8

function fleet(shape: FleetShape): string {
  return `${shape.nodes.toLocaleString('en-US')} nodes in ${shape.services} services (heartbeat keys and per-service node indexes as the SDK writes them), a queue snapshot of ${shape.queuesPerService} queues per service, and a slow stream of ${shape.slowEntries} entries for ${shape.slowServices} services`
}

export const renderScaleReport = {
  cluster(result: ClusterResult): string {
    const calls = (side: keyof ClusterResult['tickCalls']) =>
      [...result.tickCalls[side]]
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1])
        .slice(0, TOP_COMMANDS)
        .map(([name, n]) => `${name} ${n}`)
        .join(', ')
    return [
      `## Collector tick at ${result.shape.nodes.toLocaleString('en-US')} nodes: 3-master Cluster vs one Redis`,
      '',
      `Two consoles in one process, built as the server builds them, the second with \`redisCluster: true\`, each over its own copy of the same fleet: ${fleet(result.shape)}. One is on a single redis-server, the other on a 3-master Cluster of the same redis-server on the same machine. Ticks alternate between the two (and which goes first alternates), after three untimed ticks each; between two runs a fifth of the fleet beats on both, as with beats every 10 s and ticks every 2 s, and the consoles' clocks move 2 s. A collector tick is \`collector.refresh()\`: every part's read, then the history and alert writes. The nodes part, where a Cluster has to split reads by slot, is also timed alone on each console's connection. Commands are what Redis executed for one run (median), from \`INFO commandstats\` summed over the masters; commands run by scripts count, as Redis counts them. Part failures are parts that failed a tick (on a loaded machine, a command past the console's 2 s timeout). Aim: the Cluster within 1.5× one Redis.`,
      '',
      table(
        ['measure', 'Redis', 'runs', 'median (ms)', 'min (ms)', 'p90 (ms)', 'max (ms)', 'commands', 'part failures'],
        result.rows.map((r) => [r.measure, r.redis, r.runs, r.medianMs, r.minMs, r.p90Ms, r.maxMs, r.commands, r.partFailures]),
      ),
      '',
      `Cluster / one Redis (medians): **${result.tickRatio}×** for the collector tick, **${result.nodesRatio}×** for the nodes part (aim: at most 1.5×).`,
      '',
      `Commands of a median tick, most frequent first. One Redis: ${calls('one Redis')}. Cluster: ${calls('3-master Cluster')}. The Cluster's extra commands are MGETs: the heartbeat keys carry no hash tag, so one MGET per slot; they go in one pipeline per master, three round trips in all (before this change, one pipeline per slot: about 2,000 round trips a tick and 3.7× one Redis for the nodes part on the same machine). ${REPRODUCE}`,
    ].join('\n')
  },
  replicas(result: ReplicasResult): string {
    const byRedis = [...new Set(result.rows.map((r) => r.redis))]
    const ratios = byRedis.map((redis) => {
      const rows = result.rows.filter((r) => r.redis === redis)
      const one = rows.find((r) => r.replicas === 1)
      const many = rows.filter((r) => r.replicas > 1)
      return many.map((r) => `${redis}, ${r.replicas} replicas / 1: **${one ? Math.round((r.commandsPerSec / one.commandsPerSec) * 100) / 100 : Number.NaN}×**`).join('; ')
    })
    const breakdown = (row: ReplicasResult['rows'][number]) => {
      const shown = row.byCommand.slice(0, TOP_COMMANDS).map(([name, n]) => `${name} ${n}`)
      const rest = row.byCommand.slice(TOP_COMMANDS).reduce((sum, [, n]) => sum + n, 0)
      return [...shown, ...(rest > 0 ? [`others ${rest}`] : [])].join(', ')
    }
    return [
      `## Redis commands per second: 1 console replica and 3`,
      '',
      `Consoles built as the server builds them (the collector on its own timer at the default tick of ${result.tickMs / 1000} s, alerts, history, and a SQLite archive per replica; self-monitoring off so every run watches the same fleet), all on the same Redis: ${fleet(result.shape)}. While they run the bench beats like the fleet (a fifth of the nodes every 2 s). After every console has ticked three times, Redis's own counters (\`INFO commandstats\`, summed over the masters of a Cluster; commands run by scripts count) are read until every replica has ticked ${result.ticks} more times, less the bench's own beats and readings. Each replica count starts from the same fleet in a flushed Redis. "Ticks" is how many ticks the replicas ran together in that window (a tick starts ${result.tickMs / 1000} s after the previous one ended, so a slow machine ticks less often); commands per tick divides by them.`,
      '',
      table(
        ['Redis', 'replicas', 'seconds', 'ticks', 'commands/s', 'commands/tick', 'by command (per second)'],
        result.rows.map((r) => [r.redis, r.replicas, r.seconds, r.ticks, r.commandsPerSec, r.commandsPerTick, breakdown(r)]),
      ),
      '',
      `${ratios.join('; ')}. Each replica reads the whole fleet on its own ticks, so the reads (MGET, HMGET) grow with the replicas; the history writes, most of a tick's commands (the EVALSHA of the rollup script and the HSETNX, HGET, HSET, DEL and PEXPIRE it runs), are sent by one replica only, the one holding the history writer lease, so they do not. Commands per tick divide by the ticks of all replicas together. ${REPRODUCE}`,
    ].join('\n')
  },
}
