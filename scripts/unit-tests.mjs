#!/usr/bin/env node
// The tests that need no Redis and no browser, found from the code rather than from a list, so
// the set cannot go stale: a test file is a unit test unless it, or a test helper it imports
// (followed through relative imports inside the test folders), starts a redis-server, PostgreSQL or a browser.
// `--list` prints the set; anything else runs it with tap, passing the arguments on.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..')
const TEST_DIRS = ['test', 'sdk/test'].map((dir) => join(ROOT, dir))
const NEEDS_SERVICE = /startRedis\(|startPostgres\(|usePostgres\(|launchBrowser\(|playwright-core|['"]redis-server['"]|\/usr\/bin\/chromium/
const RELATIVE_IMPORT = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return testFiles(path)
    return entry.name.endsWith('.test.ts') ? [path] : []
  })
}

const inTestDirs = (path) => TEST_DIRS.some((dir) => path.startsWith(dir + '/'))
const verdicts = new Map()

/** Whether this file or a test helper it imports starts Redis or a browser. */
export function needsService(path, visiting = new Set()) {
  if (verdicts.has(path)) return verdicts.get(path)
  if (visiting.has(path)) return false
  visiting.add(path)
  const text = readFileSync(path, 'utf8')
  let needs = NEEDS_SERVICE.test(text)
  for (const [, specifier] of text.matchAll(RELATIVE_IMPORT)) {
    if (needs) break
    const target = resolve(dirname(path), specifier).replace(/\.js$/, '.ts')
    if (inTestDirs(target) && existsSync(target)) needs = needsService(target, visiting)
  }
  verdicts.set(path, needs)
  return needs
}

export function unitTests() {
  return TEST_DIRS.flatMap(testFiles)
    .filter((path) => !needsService(path))
    .map((path) => relative(ROOT, path))
    .sort()
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const args = process.argv.slice(2)
  if (args[0] === '--list') {
    console.log(unitTests().join('\n'))
  } else {
    const result = spawnSync('npx', ['tap', ...args, ...unitTests()], { cwd: ROOT, stdio: 'inherit' })
    process.exit(result.status ?? 1)
  }
}
