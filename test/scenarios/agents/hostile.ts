/**
 * A hostile agent: it holds only the documented agent ACL (docs/security.md's agent line, for its
 * own service) and does the damage issue 9 lists with those rights. It does not know which key
 * layout the console expects: every attack is tried on each key it could name (the shared node
 * index and a per-service one, shared and per-service result keys), and Redis's ACL decides what
 * lands. Each attack returns the keys it reached, so a test can check the attack really happened.
 */
import { Redis } from 'ioredis'
import { documentedAclLines, setUserArgs } from '../../helpers/documented-acl.js'
import { sampleHeartbeat } from '../../helpers/heartbeat.js'

const PREFIX = 'gravito:quasar:'
/** the service name in docs/security.md's agent line, replaced by the hostile's own */
const DOCUMENTED_SERVICE = 'billing'

export interface HostileAgent {
  readonly service: string
  readonly redis: Redis
  /** a valid heartbeat with its index entry, and a queue snapshot listing one failed job, so the console sends it commands */
  beat(now: number, nodeId?: string): Promise<void>
  /** the node index overwritten with a string, wherever the agent may write it */
  overwriteIndex(): Promise<string[]>
  /** `count` members scored years ahead, in every index the agent may write */
  ghostMembers(count: number, now: number): Promise<string[]>
  /** `count` entries of `bytes` bytes each on its slow stream */
  hugeSlowEntries(count: number, bytes: number, now: number): Promise<string[]>
  /** one ordinary slow entry */
  slowEntry(name: string, now: number): Promise<void>
  /** every command on its nodes' streams answered with a stream where the string result belongs */
  answerCommandsWithStreams(nodeId: string): Promise<string[]>
  /** `count` bad keys under its own node keys: names outside the rule, values that are not JSON, streams */
  badKeys(count: number): Promise<number>
  /** heartbeats far in the future, at 1e308, and in seconds; `ttlMs` makes them expire */
  badTimestamps(now: number, ttlMs?: number): Promise<string[]>
  close(): Promise<void>
}

/** docs/security.md's agent line for `service`, as the docs say to adapt it ("replace billing") */
export function agentAclLine(service: string): string {
  const line = documentedAclLines.find((l) => l.startsWith(`ACL SETUSER agent-${DOCUMENTED_SERVICE} `))
  if (!line) throw new Error('docs/security.md has no agent ACL line')
  return line.replaceAll(DOCUMENTED_SERVICE, service)
}

/** Creates the ACL user (with `admin`) and connects as it. */
export async function startHostileAgent(admin: Redis, redisUrl: string, service = 'hostile'): Promise<HostileAgent> {
  const line = agentAclLine(service)
  const args = setUserArgs(line)
  await admin.call('ACL', 'SETUSER', ...args)
  const user = args[0]!
  const password = args.find((word) => word.startsWith('>'))!.slice(1)
  const redis = new Redis(redisUrl.replace('redis://', `redis://${user}:${password}@`), { maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  const key = (rest: string) => `${PREFIX}${rest}`
  const indexKeys = [key('index:nodes'), key(`index:nodes:${service}`)]

  /** runs `write` per key; keys the ACL refuses are left out, any other error is thrown */
  async function whereAllowed(keys: string[], write: (key: string) => Promise<unknown>): Promise<string[]> {
    const reached: string[] = []
    for (const target of keys) {
      try {
        await write(target)
        reached.push(target)
      } catch (error) {
        if (!/NOPERM/.test((error as Error).message)) throw error
      }
    }
    return reached
  }

  async function setMany(entries: [string, string][]): Promise<void> {
    for (let start = 0; start < entries.length; start += 2_000) {
      const pipeline = redis.pipeline()
      for (const [k, v] of entries.slice(start, start + 2_000)) pipeline.set(k, v, 'EX', 3_600)
      await pipeline.exec()
    }
  }

  return {
    service,
    redis,
    async beat(now, nodeId = 'h-1') {
      await redis.set(key(`node:${service}:${nodeId}`), JSON.stringify(sampleHeartbeat({ timestamp: now, id: nodeId, service })), 'EX', 30)
      // its index entry too, as agents do, wherever it may (once the index is a string this fails, and it does not care)
      for (const index of indexKeys) await redis.zadd(index, now, index.endsWith(`:${service}`) ? nodeId : `${service}:${nodeId}`).catch(() => {})
      const snapshot = { timestamp: now, service, nodeId, queues: [{ name: 'jobs', driver: 'bullmq', metrics: { waiting: 0, failed: 1 }, failedJobs: [{ id: '7', name: 'charge' }] }] }
      await redis.set(key(`queues:${service}`), JSON.stringify(snapshot), 'EX', 30)
    },
    overwriteIndex: () => whereAllowed(indexKeys, (target) => redis.set(target, 'owned')),
    ghostMembers: (count, now) =>
      whereAllowed(indexKeys, async (target) => {
        // in the shared index a member names its service; in a per-service one, only the node
        const member = (i: number) => (target.endsWith(`:${service}`) ? `ghost-${i}` : `${service}:ghost-${i}`)
        const future = now + 10 * 365 * 24 * 3_600_000
        for (let start = 0; start < count; start += 5_000) {
          const args: (string | number)[] = []
          for (let i = start; i < Math.min(count, start + 5_000); i++) args.push(future + i, member(i))
          await redis.zadd(target, ...args)
        }
      }),
    hugeSlowEntries: (count, bytes, now) =>
      whereAllowed([key(`slow:${service}`)], async (target) => {
        // one buffer for every entry: ioredis would encode a 10 MB string again for each command
        const name = Buffer.alloc(bytes, 'x')
        for (let i = 0; i < count; i++) {
          await redis.xadd(target, 'MAXLEN', '~', '1000', '*', 'kind', 'request', 'name', name, 'durationMs', '1', 'timestamp', String(now), 'nodeId', 'h-1')
        }
      }),
    async slowEntry(name, now) {
      await redis.xadd(key(`slow:${service}`), 'MAXLEN', '~', '1000', '*', 'kind', 'request', 'name', name, 'durationMs', '1', 'timestamp', String(now), 'nodeId', 'h-1')
    },
    async answerCommandsWithStreams(nodeId) {
      const entries = await redis.xrange(key(`cmd:${service}:${nodeId}`), '-', '+')
      const reached: string[] = []
      for (const [, fields] of entries) {
        const at = fields.indexOf('command')
        const id = at >= 0 ? (JSON.parse(fields[at + 1]!) as { id: string }).id : null
        if (!id) continue
        reached.push(...(await whereAllowed([key(`cmdres:${id}`), key(`cmdres:${service}:${id}`)], (target) => redis.xadd(target, '*', 'status', 'ok', 'id', id))))
      }
      return reached
    },
    async badKeys(count) {
      const third = Math.ceil(count / 3)
      const numbered = (name: (i: number) => string, value: string) => Array.from({ length: third }, (_, i): [string, string] => [key(`node:${service}:${name(i)}`), value])
      // `*` is a glob character: the name rule keeps it out of keys
      await setMany(numbered((i) => `bad*${i}`, '{}'))
      await setMany(numbered((i) => `junk-${i}`, 'not json at all'))
      for (let start = 0; start < third; start += 2_000) {
        const pipeline = redis.pipeline()
        for (let i = start; i < Math.min(third, start + 2_000); i++) pipeline.xadd(key(`node:${service}:stream-${i}`), '*', 'f', 'v')
        await pipeline.exec()
      }
      return third * 3
    },
    async badTimestamps(now, ttlMs = 3_600_000) {
      const stamps = { 'h-future': now + 10 * 365 * 24 * 3_600_000, 'h-huge': 1e308, 'h-seconds': Math.floor(now / 1000) }
      for (const [nodeId, timestamp] of Object.entries(stamps)) {
        await redis.set(key(`node:${service}:${nodeId}`), JSON.stringify(sampleHeartbeat({ timestamp, id: nodeId, service })), 'PX', ttlMs)
      }
      return Object.keys(stamps)
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}
