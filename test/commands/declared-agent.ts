/**
 * An agent written from PROTOCOL.md alone with a bare ioredis client, for a queue system the SDK
 * does not know (driver `other`, an RQ-like store of its own): it beats, reports its queue with
 * the commands it declares, subscribes to its channel, verifies signed commands itself (the
 * HMAC of the protocol's "Signature" section, not the SDK's code) and executes the declared ones
 * on its job store. Every wake-up message it receives is kept, to check what the console sends.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Test } from 'tap'
import { Redis } from 'ioredis'
import { beat, keys, writeSnapshot } from '../queues/helpers.js'
import { TOKEN } from './signed.js'

export interface DeclaredAgentOptions {
  url: string
  service: string
  nodeId: string
  queue: string
  driver: string
  /** what the snapshot entry's `commands` says; undefined leaves the field out */
  declared?: unknown[]
  failed: string[]
}

export interface DeclaredAgent {
  /** failed job ids, in the order they failed */
  readonly failed: string[]
  readonly waiting: string[]
  /** every message received on the command channel */
  readonly wakes: string[]
  /** ids of the commands it wrote a result for */
  readonly handled: string[]
  /** one heartbeat and one queue snapshot, in one pipeline-free pair of writes */
  report(now?: number): Promise<void>
  /** resolves once the agent listens on its channel */
  listening: Promise<void>
}

function sign(fields: Record<string, unknown>): string {
  const key = createHmac('sha256', TOKEN).update('quasar-commands-v1').digest()
  const canonical = ['v', 'id', 'type', 'service', 'nodeId', 'queue', 'jobId', 'issuedAt', 'expiresAt'].map((name) => String(fields[name])).join('\n')
  return createHmac('sha256', key).update(canonical).digest('hex')
}

export function startDeclaredAgent(t: Test, options: DeclaredAgentOptions): DeclaredAgent {
  const { service, nodeId, queue } = options
  const redis = new Redis(options.url)
  const subscriber = new Redis(options.url)
  t.teardown(() => Promise.all([redis.quit(), subscriber.quit()]))
  const failed = [...options.failed]
  const waiting: string[] = []
  const wakes: string[] = []
  const handled: string[] = []
  const channel = keys.commandChannel(service, nodeId)
  let cursor = '-'
  let reading = Promise.resolve()

  async function result(id: string, status: string, reason?: string, onlyIfAbsent = false) {
    const json = JSON.stringify({ id, status, ...(reason ? { reason } : {}), service, nodeId, finishedAt: Date.now() })
    if (onlyIfAbsent) await redis.set(keys.commandResult(service, id), json, 'EX', 86400, 'NX')
    else await redis.set(keys.commandResult(service, id), json, 'EX', 86400)
    handled.push(id)
  }

  async function handle(entryId: string, raw: string | undefined) {
    let command: Record<string, unknown>
    try {
      command = JSON.parse(raw ?? '') as Record<string, unknown>
    } catch {
      return
    }
    const id = String(command.id)
    const expected = Buffer.from(sign(command), 'hex')
    const given = Buffer.from(String(command.signature), 'hex')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return result(id, 'rejected', 'bad signature', true)
    if (command.service !== service || command.nodeId !== nodeId) return result(id, 'rejected', 'addressed to another node', true)
    if (Date.now() > Number(command.expiresAt)) return result(id, 'rejected', 'expired', true)
    if (!(options.declared ?? []).includes(command.type)) return result(id, 'rejected', `command type ${String(command.type)} is not allowed`, true)
    if ((await redis.set(keys.commandSeen(service, nodeId, id), entryId, 'EX', 86400, 'NX')) === null) return
    if (command.queue !== queue) return result(id, 'rejected', `unknown queue ${String(command.queue)}`)
    const at = failed.indexOf(String(command.jobId))
    if (at < 0) return result(id, 'failed', `job ${String(command.jobId)} is not failed`)
    failed.splice(at, 1)
    if (command.type === 'RETRY_JOB') waiting.push(String(command.jobId))
    return result(id, 'ok')
  }

  async function readStream() {
    const entries = (await redis.xrange(keys.commandStream(service, nodeId), cursor === '-' ? '-' : `(${cursor}`, '+', 'COUNT', 50)) as [string, string[]][]
    for (const [entryId, fields] of entries) {
      await handle(entryId, fields[fields.indexOf('command') + 1])
      cursor = entryId
    }
  }

  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return
    wakes.push(message)
    reading = reading.then(readStream)
  })
  const listening = subscriber.subscribe(channel).then(() => undefined)

  return {
    failed,
    waiting,
    wakes,
    handled,
    listening,
    async report(now = Date.now()) {
      await beat(redis, service, nodeId, now)
      const entry = {
        name: queue,
        driver: options.driver,
        metrics: { waiting: waiting.length, failed: failed.length },
        failedJobs: failed.map((id) => ({ id, name: 'tasks.send_report', failedReason: 'ConnectionError' })),
        ...(options.declared === undefined ? {} : { commands: options.declared }),
      }
      await writeSnapshot(redis, service, { timestamp: now, nodeId, queues: [entry] })
    },
  }
}
