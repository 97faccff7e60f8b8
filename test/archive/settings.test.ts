/**
 * `--archive` and `--retention`: what each value reads as, that every bad value is refused with
 * a reason (and, through the real CLI, stops the start with one line and exit code 2), and that
 * a PostgreSQL password never reaches an error line, the page or the log.
 */
import t from 'tap'
import { DEFAULT_RETENTION, describeArchiveLocation, describeRetention, parseArchiveTarget, parseRetention, parseSize, resolveArchiveTarget } from '../../server/archive/settings.js'
import { parseConfig } from '../../server/config.js'
import { cleanEnv, runCli } from '../cli/run-cli.js'

const DAY = 86_400_000
const GB = 1024 ** 3

t.test('--archive targets', async (t) => {
  t.same(parseArchiveTarget('off'), { engine: 'off' })
  t.same(parseArchiveTarget('sqlite:/var/lib/zenith/archive.sqlite'), { engine: 'sqlite', path: '/var/lib/zenith/archive.sqlite' })
  t.same(parseArchiveTarget('sqlite:relative/jobs.db'), { engine: 'sqlite', path: 'relative/jobs.db' })
  t.same(parseArchiveTarget('postgres://zenith:pw@db.internal:5432/zenith'), { engine: 'postgres', url: 'postgres://zenith:pw@db.internal:5432/zenith' })
  t.same(parseArchiveTarget('postgresql://db/zenith'), { engine: 'postgres', url: 'postgresql://db/zenith' })
  for (const bad of ['', 'on', 'sqlite', 'sqlite:', 'sqlite:  ', 'mysql://db/zenith', 'postgres://', 'postgres:/db', '/var/lib/archive.sqlite', 'OFF ON']) {
    t.throws(() => parseArchiveTarget(bad), undefined, JSON.stringify(bad))
  }
})

t.test('the default archive is an SQLite file in the data folder; tests default to off', async (t) => {
  t.same(resolveArchiveTarget(undefined, '/data/zenith'), { engine: 'sqlite', path: '/data/zenith/archive.sqlite' })
  t.same(resolveArchiveTarget({ engine: 'off' }, '/data/zenith'), { engine: 'off' })
  const config = parseConfig({})
  t.equal(config.archive, undefined, 'absent: resolved against the data folder')
  t.same(resolveArchiveTarget(config.archive, config.dataDir), { engine: 'sqlite', path: '.zenith/redis/archive.sqlite' })
  t.same(parseConfig({ archive: 'off' }).archive, { engine: 'off' })
})

t.test('a PostgreSQL location is shown without user, password or query', async (t) => {
  const shown = describeArchiveLocation({ engine: 'postgres', url: 'postgres://zenith:hunter2@db.internal:5432/zenith?sslmode=require&password=hunter3' })
  t.equal(shown, 'postgres://db.internal:5432/zenith')
  t.equal(describeArchiveLocation({ engine: 'sqlite', path: '/data/a.sqlite' }), '/data/a.sqlite')
  t.equal(describeArchiveLocation({ engine: 'off' }), 'off')
})

t.test('--retention', async (t) => {
  t.same(DEFAULT_RETENTION, { maxAgeMs: { completed: 7 * DAY, failed: 30 * DAY }, maxBytes: 5 * GB })
  const cases: [string, unknown][] = [
    ['completed=7d,failed=30d,max=5GB', { maxAgeMs: { completed: 7 * DAY, failed: 30 * DAY }, maxBytes: 5 * GB }],
    ['failed=90d', { maxAgeMs: { completed: 7 * DAY, failed: 90 * DAY }, maxBytes: 5 * GB }],
    ['completed=12h', { maxAgeMs: { completed: 12 * 3_600_000, failed: 30 * DAY }, maxBytes: 5 * GB }],
    [' completed = 1d , max = 500 MB ', { maxAgeMs: { completed: DAY, failed: 30 * DAY }, maxBytes: 500 * 1024 ** 2 }],
    ['max=off', { maxAgeMs: { completed: 7 * DAY, failed: 30 * DAY } }],
    ['completed=off,failed=OFF', { maxAgeMs: {}, maxBytes: 5 * GB }],
    ['max=1.5gb', { maxAgeMs: { completed: 7 * DAY, failed: 30 * DAY }, maxBytes: 1.5 * GB }],
    ['MAX=2TB', { maxAgeMs: { completed: 7 * DAY, failed: 30 * DAY }, maxBytes: 2 * 1024 ** 4 }],
  ]
  for (const [text, policy] of cases) t.same(parseRetention(text), policy, text)
  const bad: [string, RegExp][] = [
    ['', /list of state=duration/],
    ['7d', /list of state=duration/],
    ['completed:7d', /list of state=duration/],
    ['completed=', /list of state=duration/],
    ['completed=7d,', /list of state=duration/],
    ['completed=7', /completed must be a duration/],
    ['completed=0d', /completed must be a duration/],
    ['completed=-1d', /completed must be a duration/],
    ['completed=week', /completed must be a duration/],
    ['failed=5GB', /failed must be a duration/],
    ['max=5', /max must be a size/],
    ['max=0GB', /max must be a size/],
    ['max=7d', /max must be a size/],
    ['max=5 PB', /max must be a size/],
    ['waiting=1d', /knows completed, failed and max, not waiting/],
    ['completed=1d,completed=2d', /names completed twice/],
  ]
  for (const [text, says] of bad) t.throws(() => parseRetention(text), says, JSON.stringify(text))
  t.equal(parseSize('5'), null, 'a bare number is no size')
  t.equal(describeRetention(DEFAULT_RETENTION), 'completed=7d,failed=30d,max=5 GB')
  t.equal(describeRetention(parseRetention('completed=12h,max=off')), 'completed=12h,failed=30d,max=off')
})

t.test('the config takes the text and the value it was read as alike', async (t) => {
  const policy = parseRetention('failed=2d')
  t.same(parseConfig({ retention: 'failed=2d' }).retention, policy)
  t.same(parseConfig({ retention: policy }).retention, policy)
  t.throws(() => parseConfig({ retention: 'failed=2' }), /failed must be a duration/)
  t.throws(() => parseConfig({ archive: 'mysql://x' }), /must be off, sqlite:<path> or postgres/)
})

const lines = (text: string) => text.split('\n').filter((line) => line !== '')

t.test('through the real CLI: one line, exit code 2, a password never repeated', async (t) => {
  const cases: { args: string[]; env?: Record<string, string>; says: RegExp }[] = [
    { args: ['start', '--archive', 'mysql://root:hunter2@db/zenith'], says: /^error: invalid --archive: must be off, sqlite:<path> or postgres/ },
    { args: ['start'], env: { ZENITH_ARCHIVE: 'sqlite:' }, says: /^error: invalid ZENITH_ARCHIVE: sqlite: needs a file path/ },
    { args: ['start', '--archive', 'postgres://root:hunter2@/zenith'], says: /^error: invalid --archive: is not a valid postgres:\/\/ URL/ },
    { args: ['start'], env: { ZENITH_ARCHIVE: 'postgres:///zenith?password=hunter2' }, says: /^error: invalid ZENITH_ARCHIVE: postgres:\/\/ URL needs a host/ },
    { args: ['start', '--retention', 'completed=7'], says: /--retention.*completed must be a duration/ },
    { args: ['start'], env: { ZENITH_RETENTION: 'max=lots' }, says: /ZENITH_RETENTION.*max must be a size/ },
  ]
  const results = await Promise.all(cases.map(({ args, env }) => runCli(args, cleanEnv(env))))
  cases.forEach(({ args, env, says }, i) => {
    const result = results[i]!
    const what = JSON.stringify({ args, env })
    t.equal(result.code, 2, what)
    t.equal(lines(result.stderr).length, 1, `${what}: ${result.stderr}`)
    t.match(result.stderr, says, what)
    t.notMatch(result.stderr, /hunter2/, `${what}: no password`)
    t.equal(result.stdout, '', `${what}: nothing started`)
  })
})
