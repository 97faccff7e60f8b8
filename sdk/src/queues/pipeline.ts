/**
 * A pipeline whose replies are read one by one: a command that failed (a key of the wrong type,
 * say) yields its own error, named after the key, instead of failing the whole read. On a Redis
 * Cluster the commands go in one pipeline per hash slot (./slot-pipelines.ts), sent together.
 */
import type { ChainableCommander } from 'ioredis'
import type { AgentRedis } from '../client.js'
import { asError, SlotPipelines } from '../slot-pipelines.js'

export type Reply = { ok: true; value: unknown } | { ok: false; error: string }

export class Batch {
  readonly #pipelines: SlotPipelines
  /** per slot, the indexes of its commands in the order they were added */
  readonly #order = new Map<ChainableCommander, number[]>()
  readonly #keys: string[] = []

  constructor(redis: AgentRedis) {
    this.#pipelines = new SlotPipelines(redis)
  }

  /** Queues a command on `key` (which routes it on a Cluster and names it in an error). Returns its index. */
  add(key: string, queue: (pipeline: ChainableCommander) => void): number {
    const pipeline = this.#pipelines.for(key)
    queue(pipeline)
    const index = this.#keys.push(key) - 1
    const order = this.#order.get(pipeline)
    if (order) order.push(index)
    else this.#order.set(pipeline, [index])
    return index
  }

  get size(): number {
    return this.#keys.length
  }

  /**
   * One reply per command, in the order added. Rejects when no reply came at all (Redis away, as
   * with one pipeline); on a Cluster with one master away, only the commands on its slots fail.
   */
  async run(): Promise<Reply[]> {
    if (this.#keys.length === 0) return []
    const sent = await this.#pipelines.execEach()
    const unanswered = sent.find(({ outcome }) => outcome.status === 'rejected')?.outcome as PromiseRejectedResult | undefined
    if (unanswered && sent.every(({ outcome }) => outcome.status === 'rejected')) throw unanswered.reason
    const replies: Reply[] = []
    for (const { pipeline, outcome } of sent) {
      this.#order.get(pipeline)!.forEach((index, n) => {
        const [error, value] = outcome.status === 'fulfilled' ? (outcome.value[n] ?? [new Error('no reply'), null]) : [asError(outcome.reason), null]
        replies[index] = error ? { ok: false, error: `${error.message} (${this.#keys[index]})` } : { ok: true, value }
      })
    }
    return replies
  }
}

/** The reply's value, or a thrown Error carrying the command's error. */
export function valueOf(reply: Reply | undefined): unknown {
  if (!reply) throw new Error('missing reply')
  if (!reply.ok) throw new Error(reply.error)
  return reply.value
}

export function countOf(reply: Reply | undefined): number {
  const value = valueOf(reply)
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new Error('count reply is not a non-negative integer')
  return value
}
