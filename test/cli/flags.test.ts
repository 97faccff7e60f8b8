import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REDIS_NOT_FOUND_MESSAGE } from '../../server/embedded/redis-server.js'
import { cleanEnv, runCli } from './run-cli.js'

const lines = (text: string) => text.split('\n').filter((line) => line !== '')

const badAlerts = join(mkdtempSync(join(tmpdir(), 'zenith-alerts-')), 'alerts.json')
writeFileSync(badAlerts, JSON.stringify({ rules: [{ name: 'hot', metric: 'cpu', abve: 90 }] }))

const badCommandLines: Array<{ what: string; args: string[]; env?: Record<string, string>; says: RegExp }> = [
  { what: 'unknown flag', args: ['start', '--bogus'], says: /unknown option '--bogus'/ },
  { what: 'misspelt flag, with its suggestion on the same line', args: ['start', '--prot', '3000'], says: /unknown option '--prot'.*--port/ },
  { what: 'port that is not a number', args: ['start', '--port', 'abc'], says: /--port.*'abc'.*whole number/ },
  { what: 'port out of range', args: ['start', '--port', '70000'], says: /--port.*'70000'/ },
  { what: 'flag without its value', args: ['start', '--port'], says: /--port.*missing/ },
  { what: 'url that is not redis', args: ['start', '--url', 'http://x'], says: /--url.*redis:\/\/ or rediss:\/\// },
  { what: 'prefix with a space', args: ['start', '--prefix', 'a b'], says: /--prefix.*'a b'/ },
  { what: 'grace that is not a duration', args: ['start', '--grace', 'soon'], says: /--grace.*'soon'/ },
  { what: 'unknown log level', args: ['start', '--log-level', 'loud'], says: /--log-level/ },
  { what: 'stray argument', args: ['start', 'now'], says: /too many arguments/ },
  { what: 'unknown command', args: ['stat'], says: /unknown command 'stat'/ },
  { what: 'bad port from the environment', args: ['start'], env: { PORT: 'abc' }, says: /env 'PORT'/ },
  { what: 'bad url from the environment', args: ['start'], env: { REDIS_URL: 'localhost:6379' }, says: /env 'REDIS_URL'/ },
  { what: 'open console on all interfaces without a password', args: ['start', '--host', '0.0.0.0'], says: /refusing to listen on 0\.0\.0\.0 without a password/ },
  { what: 'alerts file with a misspelt key', args: ['start', '--alerts', badAlerts], says: /alerts file .*alerts\.json: rules\[0\] \(hot\): Unrecognized key: "abve"/ },
  { what: 'alerts file that does not exist', args: ['start'], env: { ZENITH_ALERTS: '/nonexistent/alerts.yaml' }, says: /cannot read alerts file \/nonexistent\/alerts\.yaml/ },
  { what: 'trust-proxy that is neither a hop count nor addresses', args: ['start', '--trust-proxy', 'proxy.example'], says: /--trust-proxy.*'proxy\.example'.*CIDR/ },
  { what: 'trust-proxy of zero hops from the environment', args: ['start'], env: { ZENITH_TRUST_PROXY: '0' }, says: /env 'ZENITH_TRUST_PROXY'.*at least 1/ },
  { what: 'bad switch from the environment', args: ['start'], env: { ZENITH_SELF_MONITOR: 'maybe' }, says: /ZENITH_SELF_MONITOR/ },
]

// each case is its own process; run a few side by side (not all: CI machines have 2 cores)
const badResults = inBatches(badCommandLines, 4, ({ args, env }) => runCli(args, cleanEnv(env)))

async function inBatches<T, R>(items: T[], size: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  for (let start = 0; start < items.length; start += size) results.push(...(await Promise.all(items.slice(start, start + size).map(run))))
  return results
}

badCommandLines.forEach(({ what, says }, index) => {
  t.test(`${what}: one line on stderr, exit code 2`, async (t) => {
    const result = (await badResults)[index]!
    t.equal(result.code, 2)
    t.equal(lines(result.stderr).length, 1, result.stderr)
    t.match(result.stderr, says)
    t.equal(result.stdout, '', 'nothing started, nothing logged')
  })
})

t.test('a bad secret is named, never repeated', async (t) => {
  const fromFlag = await runCli(['start', '--api-token', 'short-secret'])
  t.equal(fromFlag.code, 2)
  t.match(fromFlag.stderr, /^error: invalid --api-token: .*16/)
  t.notMatch(fromFlag.stderr, /short-secret/)

  const fromEnv = await runCli(['start'], cleanEnv({ ZENITH_SESSION_SECRET: 'too-short-secret' }))
  t.equal(fromEnv.code, 2)
  t.match(fromEnv.stderr, /^error: invalid ZENITH_SESSION_SECRET: .*32/)
  t.notMatch(fromEnv.stderr, /too-short-secret/)
  t.equal(lines(fromEnv.stderr).length, 1)
})

t.test('--help exits 0 and lists the commands and flags', async (t) => {
  const top = await runCli(['--help'])
  t.equal(top.code, 0)
  t.match(top.stdout, /start/)
  t.equal(top.stderr, '')

  const start = await runCli(['start', '--help'])
  t.equal(start.code, 0)
  for (const text of ['--url', 'REDIS_URL', '--port', 'PORT', '--host', 'HOST', '--prefix', 'QUASAR_PREFIX', '--grace', 'ZENITH_GRACE', 'default: 5m']) {
    t.match(start.stdout, text)
  }
})

t.test('no redis-server on PATH and no --url: the install hint, exit code 2', async (t) => {
  const emptyDir = mkdtempSync(join(tmpdir(), 'zenith-empty-path-'))
  const dataDir = mkdtempSync(join(tmpdir(), 'zenith-data-'))
  t.teardown(() => {
    rmSync(emptyDir, { recursive: true, force: true })
    rmSync(dataDir, { recursive: true, force: true })
  })
  const result = await runCli(['start', '--port', '0', '--data-dir', dataDir], cleanEnv({ PATH: emptyDir }))
  t.equal(result.code, 2)
  t.same(lines(result.stderr), [REDIS_NOT_FOUND_MESSAGE])
})

t.test('hash-password: the hash from stdin, exit 0; nothing to hash, exit 2', async (t) => {
  const hashed = await runCli(['hash-password'], cleanEnv(), 'correct horse\n')
  t.equal(hashed.code, 0)
  t.match(hashed.stdout, /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+\n$/)
  t.notMatch(hashed.stdout + hashed.stderr, /correct horse/)

  const empty = await runCli(['hash-password'], cleanEnv(), '')
  t.equal(empty.code, 2)
  t.equal(lines(empty.stderr).length, 1)
})
