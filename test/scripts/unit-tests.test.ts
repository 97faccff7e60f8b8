/**
 * `npm run test:unit` finds its set from the code, so the set cannot be checked against a list:
 * instead, known files of each kind must land on the right side. A file that starts Redis only
 * through a helper it imports is the case a plain text search would get wrong.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..')

function unitSet(): string[] {
  const run = spawnSync(process.execPath, [join(ROOT, 'scripts/unit-tests.mjs'), '--list'], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`unit-tests.mjs --list failed: ${run.stderr}`)
  return run.stdout.trim().split('\n')
}

const listed = unitSet()
const source = (path: string) => readFileSync(join(ROOT, path), 'utf8')
// spelled with escapes, so this file's own text does not read as starting a service
const STARTS_SERVICE = /startRedis\(|launchBrowser\(|\/usr\/bin\/chromium/

t.test('a test that touches no service is in the set, from both test folders', async (t) => {
  for (const path of ['test/web/gzip-pieces.test.ts', 'test/duration.test.ts', 'sdk/test/protocol/heartbeat-reader.test.ts', 'test/scripts/unit-tests.test.ts']) {
    t.ok(listed.includes(path), path)
  }
})

t.test('a test that starts Redis itself is left out', async (t) => {
  const path = 'test/collector/redis-down.test.ts'
  t.match(source(path), STARTS_SERVICE, 'precondition: it starts Redis in its own text')
  t.notOk(listed.includes(path), path)
})

t.test('a browser test is left out', async (t) => {
  for (const path of ['test/alerts/browser.test.ts', 'test/security/rebinding.browser.test.ts']) t.notOk(listed.includes(path), path)
})

t.test('a test that starts Redis only through a helper it imports is left out', async (t) => {
  // useRedis(t) lives in test/helpers/redis-server.ts: the importer never names the start itself
  for (const path of ['test/slow/stream-order.test.ts', 'sdk/test/queues/declared-commands.test.ts']) {
    t.notMatch(source(path), STARTS_SERVICE, `precondition: ${path} starts nothing in its own text`)
    t.match(source(path), /from '(\.\.\/)+test\/helpers\/redis-server\.js'|from '\.\.\/helpers\/redis-server\.js'/, `precondition: ${path} imports the Redis helper`)
    t.notOk(listed.includes(path), path)
  }
})

t.test('the set is neither empty nor everything', async (t) => {
  t.ok(listed.length >= 20, `${listed.length} unit files`)
  t.ok(
    listed.every((path) => /\.test\.ts$/.test(path)),
    'only test files',
  )
})
