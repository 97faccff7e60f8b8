/**
 * BENCHMARKS.md is made of sections, one per benchmark, each fenced by HTML comments and stamped
 * with the machine and the command that produced it. A run rewrites only the sections it measured,
 * so `npm run bench -- --only queues` keeps the collector figures of an earlier full run.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'

export interface MeasuredSection {
  id: string
  markdown: string
}

const HEADER = [
  '# Benchmarks',
  '',
  'Reproduce everything with `npm run bench` (it builds, then starts its own redis-server on a free loopback port), or one section with `npm run bench -- --only <id>`. Each section says the machine and the command of the run that produced it. These machines are noisy: every figure is measured beside its baseline in the same run; compare the ratios, not absolute times across sections.',
  '',
].join('\n')

const SECTION = /<!-- bench:([a-z-]+) -->\n[\s\S]*?<!-- \/bench:\1 -->\n/g

export function updateBenchmarks(path: string, measured: readonly MeasuredSection[], stamp: string): void {
  const kept = new Map<string, string>()
  if (existsSync(path)) {
    for (const match of readFileSync(path, 'utf8').matchAll(SECTION)) kept.set(match[1]!, match[0])
  }
  for (const section of measured) {
    kept.set(section.id, `<!-- bench:${section.id} -->\n${section.markdown}\n\n_${stamp}_\n<!-- /bench:${section.id} -->\n`)
  }
  writeFileSync(path, `${HEADER}\n${[...kept.values()].join('\n')}`)
}
