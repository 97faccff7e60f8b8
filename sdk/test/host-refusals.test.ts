/**
 * A Redis that answers the agent with an error reply: during a beat (an ACL user without `+zadd`,
 * or a server out of memory under `noeviction`) and during the command wake-up's SUBSCRIBE (a user
 * without the channel). Each refusal reaches onError, and never the host: the host runs in a Node
 * process of its own (hosts/refused-agent.ts), where a single unhandled rejection or uncaught
 * exception would end it with code 1; it must keep running and exit on its own with code 0.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { useRedis } from '../../test/helpers/redis-server.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const hostScript = fileURLToPath(new URL('./hosts/refused-agent.ts', import.meta.url))

const { server: redisServer, redis: admin } = await useRedis(t)

interface HostReport {
  allSeen: boolean
  messages: string[]
  hostTicksAfter: number
  agentEventsAfter: number
}

async function runHost(url: string, expected: RegExp[]): Promise<{ code: number | null; report: HostReport | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', hostScript], {
    cwd: root,
    env: { ...process.env, QUASAR_TEST_URL: url, QUASAR_TEST_EXPECT: JSON.stringify(expected.map((pattern) => pattern.source)) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const [code] = (await once(child, 'exit')) as [number | null]
  const line = stdout.trim().split('\n').at(-1)
  return { code, report: line ? (JSON.parse(line) as HostReport) : null, stderr }
}

const userUrl = (user: string) => redisServer.url.replace('redis://', `redis://${user}:${user}-secret@`)

const cases: { name: string; user: string; acl: string[]; expected: RegExp[]; setup?: () => Promise<unknown>; cleanup?: () => Promise<unknown> }[] = [
  {
    name: 'a beat whose ZADD is refused (user without +zadd)',
    user: 'no-zadd',
    acl: ['on', '>no-zadd-secret', '~*', '&*', '+@all', '-zadd'],
    expected: [/NOPERM.*'zadd'/],
  },
  {
    name: 'a beat whose writes fail with OOM (maxmemory, noeviction)',
    user: 'oom',
    acl: ['on', '>oom-secret', '~*', '&*', '+@all'],
    expected: [/^OOM /],
    setup: () => admin.config('SET', 'maxmemory', '1'),
    cleanup: () => admin.config('SET', 'maxmemory', '0'),
  },
  {
    name: "the wake-up's SUBSCRIBE refused (user without the channel)",
    user: 'no-channel',
    acl: ['on', '>no-channel-secret', '~*', 'resetchannels', '+@all'],
    expected: [/NOPERM.*channel/],
  },
]

for (const refusal of cases) {
  t.test(`${refusal.name}: reported to onError, the host keeps running and exits 0`, async (t) => {
    await admin.call('ACL', 'SETUSER', refusal.user, 'reset', ...refusal.acl)
    await admin.config('SET', 'maxmemory-policy', 'noeviction')
    await refusal.setup?.()
    t.teardown(async () => {
      await refusal.cleanup?.()
    })
    const { code, report, stderr } = await runHost(userUrl(refusal.user), refusal.expected)
    t.equal(code, 0, 'the host exited on its own, with code 0')
    t.notMatch(stderr, /Unhandled|unhandled|Uncaught|ERR_UNHANDLED_REJECTION/, 'nothing unhandled on stderr')
    t.ok(report, 'the host printed its report after the refusals')
    t.equal(report?.allSeen, true, `onError saw: ${JSON.stringify(report?.messages)}`)
    t.ok((report?.agentEventsAfter ?? 0) >= 3, 'the agent went on afterwards')
    t.ok((report?.hostTicksAfter ?? 0) > 0, "the host's own timer kept firing")
  })
}
