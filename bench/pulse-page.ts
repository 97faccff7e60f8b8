/**
 * `/pulse` first page at 20,000 nodes: bytes and render time of this tree's page beside the page
 * of a baseline commit (the one before the fleet view), in the same run, over the same fleet in
 * the same Redis. The baseline is that commit's source extracted into a temporary directory
 * (`git archive`), run with this tree's node_modules: the old code path as it was, not a copy kept
 * here.
 */
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { percentile, round } from './stats.js'

/** the last commit before the fleet view (issue 13) */
export const PULSE_BASELINE_REF = '0d163f2'

export interface PulsePageRow {
  page: string
  path: string
  nodes: number
  htmlKB: number
  gzipKB: number
  renderP50Ms: number
  renderP95Ms: number
}

export async function benchPulsePage(url: string, nodes: number, runs: number, baselineRef = PULSE_BASELINE_REF): Promise<PulsePageRow[]> {
  const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '')

  const baseline = mkdtempSync(join(tmpdir(), 'zenith-pulse-baseline-'))
  try {
    execFileSync('sh', ['-c', `git -C "${root}" archive ${baselineRef} | tar -x -C "${baseline}"`])
    symlinkSync(join(root, 'node_modules'), join(baseline, 'node_modules'))
    return [
      await measure(`before (${baselineRef}): every service's cards`, baseline, url, runs, '/pulse', nodes),
      await measure('fleet view: problems, then service rows', root, url, runs, '/pulse', nodes),
      // a healthy fleet has no problem cards: a full first page of cards is the page at its largest
      await measure('fleet view: a full page of cards', root, url, runs, '/pulse?health=fresh', nodes),
      await measure('fleet view: the table', root, url, runs, '/pulse?health=fresh&view=table', nodes),
    ]
  } finally {
    rmSync(baseline, { recursive: true, force: true })
  }
}

async function measure(page: string, tree: string, url: string, runs: number, path: string, nodes: number): Promise<PulsePageRow> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./pulse-page-server.ts', import.meta.url).pathname, url, tree, String(runs), path, String(nodes)], { cwd: tree, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const [code] = (await once(child, 'exit')) as [number]
  if (code !== 0) throw new Error(`${page}: the page server exited with ${code}`)
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as { nodes: number; bytes: number; gzipBytes: number; times: number[] }
  return {
    page,
    path,
    nodes: result.nodes,
    htmlKB: round(result.bytes / 1024, 0),
    gzipKB: round(result.gzipBytes / 1024, 0),
    renderP50Ms: round(percentile(result.times, 50), 1),
    renderP95Ms: round(percentile(result.times, 95), 1),
  }
}
