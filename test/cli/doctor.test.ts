/**
 * `zenith doctor` against a real Redis: many bad keys of many kinds, in shuffled orders beside good
 * keys, each listed with its reason and the good ones not; the services, nodes, queues and slow
 * streams it saw; terminal-safe text; and the exit codes of the real bin (0 clean, 1 problems,
 * 2 unreachable). The in-process runs use the CLI's own entry with its output captured.
 */
import t from 'tap'
import { runCli as runInProcess } from '../../server/cli/program.js'
import { DOCTOR_PARTS, MAX_TICKS, ticksFor, walkableKeys } from '../../server/cli/doctor-pass.js'
import { useRedis, freePort } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { badKeys, goodKeys, problemsOf, seed, KIND_COUNT } from '../problems/bad-keys.js'
import { cleanEnv, runCli as runBin } from './run-cli.js'

const { server: redisServer, redis } = await useRedis(t)

async function doctor(...args: string[]) {
  let out = ''
  let err = ''
  const code = await runInProcess(['node', 'zenith', 'doctor', '--url', redisServer.url, ...args], { out: (text) => void (out += text), err: (text) => void (err += text) })
  return { code, out, err }
}

interface JsonReport {
  reachable: boolean
  clean: boolean
  services: { name: string; nodes: { id: string }[] }[]
  queues: { service: string; name: string; waiting: number | null; commands: string[] }[]
  slowStreams: { service: string; entries: number }[]
  problems: { key: string; reason: string }[]
  failedParts: unknown[]
}

for (const order of [1, 2, 3]) {
  t.test(`order ${order}: every bad key listed with its reason, every good service seen`, async (t) => {
    await redis.flushall()
    const bad = badKeys(2)
    const good = goodKeys(3)
    await seed(redis, Date.now(), bad, good, order)
    // a queue only a heartbeat carries: read through the previous tick's nodes
    await redis.set(
      'gravito:quasar:node:beats-only:n1',
      JSON.stringify(sampleHeartbeat({ timestamp: Date.now(), service: 'beats-only', id: 'n1', queues: [{ name: 'orders', driver: 'bullmq', metrics: { waiting: 4, active: 0, failed: 1 } }] })),
      'EX',
      30,
    )

    const json = await doctor('--json')
    t.equal(json.code, 1, 'exit code 1: problems found')
    const report = JSON.parse(json.out) as JsonReport
    t.equal(bad.length, KIND_COUNT * 2)
    for (const item of bad) {
      const shown = problemsOf(item, report.problems)
      t.equal(shown.length, 1, `${item.kind} (${item.key}) is listed once`)
      t.match(shown[0]?.reason, item.reason, `${item.kind}: its reason`)
    }
    t.equal(report.problems.length, bad.length, 'nothing else')
    for (const item of good)
      t.notOk(
        report.problems.some((p) => p.key === item.key || p.key.startsWith(`${item.key} `)),
        `${item.key} is not a problem`,
      )
    t.same(report.failedParts, [])
    t.same(
      report.services.filter((s) => s.name.startsWith('good-')).map((s) => [s.name, s.nodes.map((n) => n.id)]),
      [
        ['good-0', ['n1']],
        ['good-1', ['n1']],
        ['good-2', ['n1']],
      ],
    )
    t.same(
      report.queues.filter((q) => q.service.startsWith('good-')).map((q) => [q.service, q.name, q.waiting]),
      [
        ['good-0', 'emails', 3],
        ['good-1', 'emails', 3],
        ['good-2', 'emails', 3],
      ],
    )
    t.match(
      report.queues.find((q) => q.service === 'beats-only'),
      { name: 'orders', waiting: 4 },
      'the heartbeat-only queue',
    )
    t.same(
      report.slowStreams.filter((s) => s.service.startsWith('good-')),
      [
        { service: 'good-0', entries: 1 },
        { service: 'good-1', entries: 1 },
        { service: 'good-2', entries: 1 },
      ],
    )

    const text = await doctor()
    t.equal(text.code, 1)
    for (const problem of report.problems) t.ok(text.out.includes(`  ${problem.key}\n    ${problem.reason}`), `text lists ${problem.key} with its reason`)
    t.match(text.out, /Services and nodes: \d+ services, \d+ nodes\n/)
    t.match(text.out, /good-1 \/ emails {2}bullmq, agent, waiting 3, active 1, delayed \?, failed 0; commands RETRY_JOB, DELETE_JOB via node n1/)
    t.match(text.out, /Found problems/)
  })
}

t.test('clean data: exit 0 and says so', async (t) => {
  await redis.flushall()
  await seed(redis, Date.now(), [], goodKeys(2), 1)
  const text = await doctor()
  t.equal(text.code, 0)
  t.match(text.out, /Problems: 0\n/)
  t.match(text.out, /Clean: the console read every key without skipping anything/)
  const report = JSON.parse((await doctor('--json')).out) as JsonReport
  t.same([report.clean, report.problems], [true, []])
})

t.test('agent text cannot drive the terminal', async (t) => {
  await redis.flushall()
  await redis.set('gravito:quasar:node:svc:\u001b[2J\u202eevil', '{}', 'EX', 30)
  const text = await doctor()
  t.equal(text.code, 1)
  // eslint-disable-next-line no-control-regex
  t.notMatch(text.out, /[\u001b\u202e]/, 'no escape or bidi character reaches the terminal')
  t.ok(text.out.includes('gravito:quasar:node:svc:\\u001b[2J\\u202eevil'), 'they are shown as escapes')
  t.ok(JSON.parse((await doctor('--json')).out).problems[0].key.includes('\u001b'), 'JSON keeps the key as it is: JSON escapes it')
})

t.test('doctor runs the app parts that read agent data, and only those', async (t) => {
  const app = await buildTestApp({ redisUrl: redisServer.url })
  t.teardown(() => app.close())
  const consoleOnly = ['alerts', 'commands']
  t.same(Object.keys(app.collector.snapshot.parts).sort(), [...DOCTOR_PARTS, ...consoleOnly].sort(), 'a new part in the app must be added to doctor or to the console-only list')
})

t.test('the bin exits 0 clean, 1 with problems, 2 when Redis does not answer', async (t) => {
  await redis.flushall()
  await seed(redis, Date.now(), [], goodKeys(1), 1)
  const clean = await runBin(['doctor', '--url', redisServer.url])
  t.equal(clean.code, 0, clean.stderr)
  t.match(clean.stdout, /Clean:/)

  await redis.set('gravito:quasar:node:svc:bad', 'not json', 'EX', 30)
  const problems = await runBin(['doctor', '--url', redisServer.url, '--json'])
  t.equal(problems.code, 1, problems.stderr)
  t.same(
    JSON.parse(problems.stdout).problems.map((p: { key: string; reason: string }) => [p.key, p.reason]),
    [['gravito:quasar:node:svc:bad', 'malformed JSON']],
  )

  // REDIS_URL works as for `start`, and the password never reaches the output
  const closedPort = await freePort()
  const down = await runBin(['doctor'], cleanEnv({ REDIS_URL: `redis://:hunter2-secret@127.0.0.1:${closedPort}` }))
  t.equal(down.code, 2)
  t.match(down.stdout, /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ did not answer/)
  t.notMatch(down.stdout + down.stderr, /hunter2/)
})

t.test('a large keyspace is walked to the end: keys found only by SCAN are all seen', async (t) => {
  await redis.flushall()
  // 50,000 other keys: the console's SCAN walks about 20,000 a tick, so two ticks would miss some
  for (let chunk = 0; chunk < 50; chunk++) {
    await redis.mset(...Array.from({ length: 1000 }, (_, i) => [`app:cache:${chunk}:${i}`, 'x']).flat())
  }
  const bad = badKeys(1).filter((item) => item.key.includes(':node:'))
  await seed(
    redis,
    Date.now(),
    bad,
    goodKeys(2).filter((item) => item.key.includes(':node:')),
    7,
  )
  t.equal(ticksFor(await redis.dbsize()), 4)
  const report = JSON.parse((await doctor('--json')).out) as JsonReport & { keys: { count: number; walked: boolean } }
  for (const item of bad) t.equal(problemsOf(item, report.problems).length, 1, `${item.kind} found`)
  t.same(
    report.services.filter((s) => s.name.startsWith('good-')).map((s) => s.name),
    ['good-0', 'good-1'],
  )
  t.same(report.keys, { count: await redis.dbsize(), walked: true })
  t.equal(ticksFor(10_000_000), MAX_TICKS, 'bounded')
  t.ok(walkableKeys(MAX_TICKS) < 10_000_000 && walkableKeys(MAX_TICKS) >= 1_000_000)
})
