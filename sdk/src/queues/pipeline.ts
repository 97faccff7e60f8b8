/**
 * A pipeline whose replies are read one by one: a command that failed (a key of the wrong type,
 * say) yields its own error, named after the key, instead of failing the whole read.
 */
import type { ChainableCommander, Redis } from 'ioredis'

export type Reply = { ok: true; value: unknown } | { ok: false; error: string }

export class Batch {
  readonly #pipeline: ChainableCommander
  readonly #labels: string[] = []

  constructor(redis: Redis) {
    this.#pipeline = redis.pipeline()
  }

  /** Queues a command; `label` (usually the key) names it in an error. Returns its index. */
  add(label: string, queue: (pipeline: ChainableCommander) => void): number {
    queue(this.#pipeline)
    this.#labels.push(label)
    return this.#labels.length - 1
  }

  get size(): number {
    return this.#labels.length
  }

  async run(): Promise<Reply[]> {
    if (this.#labels.length === 0) return []
    const results = (await this.#pipeline.exec()) ?? []
    return this.#labels.map((label, index) => {
      const [error, value] = results[index] ?? [new Error('no reply'), null]
      return error ? { ok: false, error: `${error.message} (${label})` } : { ok: true, value }
    })
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
