/**
 * A writer in another language following PROTOCOL.md: examples/python-archive-writer.py (CPython
 * with redis-py) writes records whose entries readJobRecord, the console's reader, accepts as
 * written, with the data bounded and redacted by the writer itself; a bad record is refused.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { JOB_RECORD_LIMITS, readJobRecord, REDACTED } from '../../src/protocol/index.js'

const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('../../../examples/python-archive-writer.py', import.meta.url))

const { server, redis } = await useRedis(t)

function write(lines: unknown[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(PYTHON, [SCRIPT], {
    input: lines.map((line) => JSON.stringify(line)).join('\n'),
    env: { REDIS_URL: server.url, SERVICE: 'py-app', NODE_ID: 'py-1', PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

t.test('records written by the Python example are read back as written', async (t) => {
  let deep: unknown = 'bottom'
  for (let n = 0; n < 50; n++) deep = [deep]
  const run = write([
    {
      queue: 'emails',
      jobId: 42,
      state: 'failed',
      attempt: 2,
      finishedAt: 1_764_662_400_123,
      startedAt: 1_764_662_400_000,
      durationMs: 123,
      name: 'SendInvoice',
      failedReason: 'SMTP timeout',
      stack: 'Traceback (most recent call last):\n  File "worker.py"',
      data: { invoice: 42, user: { password: 'pw-1', profile: { ApiToken: 'tk-2' } }, deep, note: 'n'.repeat(5000), list: Array.from({ length: 150 }, (_, n) => n) },
      driver: 'other',
    },
    { queue: 'emails', jobId: '43', state: 'completed', attempt: 1, finishedAt: 1_764_662_401_000, result: { sent: true, token: 'tk-3' }, opts: { attempts: 3 } },
  ])
  t.equal(run.status, 0, run.stderr)
  const entries = await redis.xrange('gravito:quasar:archive:py-app', '-', '+')
  t.equal(entries.length, 2)
  t.same(
    run.stdout.trim().split('\n'),
    entries.map(([id]) => id),
    'the entry ids printed',
  )
  const [failed, completed] = entries.map(([id, fields]) => {
    const read = readJobRecord(id, fields, [])
    if (!read.ok) throw new Error(read.error)
    t.same(read.value.notes, [], `entry ${id}: nothing dropped by the reader`)
    return read.value
  })
  t.match(failed, {
    queue: 'emails',
    jobId: '42',
    state: 'failed',
    attempt: 2,
    finishedAt: 1_764_662_400_123,
    startedAt: 1_764_662_400_000,
    durationMs: 123,
    nodeId: 'py-1',
    name: 'SendInvoice',
    failedReason: 'SMTP timeout',
    driver: 'other',
  })
  const data = JSON.parse(failed!.data!)
  t.equal(data.user.password, REDACTED, 'redacted by the writer (read back with no redaction keys)')
  t.equal(data.user.profile.ApiToken, REDACTED)
  t.equal(data.note.length, 1024, 'long text cut')
  t.equal(data.list.length, 101, '100 items and a marker')
  t.equal(data.list[100], '[50 more items]')
  t.match(JSON.stringify(data.deep), /\[too deep\]/)
  t.ok(failed!.data!.length <= JOB_RECORD_LIMITS.data)
  t.same(JSON.parse(completed!.result!), { sent: true, token: REDACTED })
  t.equal(completed!.nodeId, 'py-1', 'the node from the environment')
})

t.test('a record without a required field is refused, the others still written', async (t) => {
  const run = write([
    { queue: 'emails', jobId: '1', state: 'lost', attempt: 1, finishedAt: 1 },
    { queue: 'emails', jobId: '2', state: 'completed', attempt: 0, finishedAt: 1 },
    { queue: 'emails', jobId: '3', state: 'completed', attempt: 1, finishedAt: 1 },
  ])
  t.equal(run.status, 1)
  t.match(run.stderr, /state must be completed or failed/)
  t.match(run.stderr, /attempt must be a whole number from 1/)
  const ids = (await redis.xrange('gravito:quasar:archive:py-app', '-', '+')).map(([, fields]) => fields[fields.indexOf('jobId') + 1])
  t.ok(ids.includes('3') && !ids.includes('1') && !ids.includes('2'))
})
