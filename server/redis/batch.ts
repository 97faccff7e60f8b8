/**
 * A pipeline whose every command hands back its own reply. `add` queues exactly one command and
 * returns a slot; after `exec` each slot holds that command's reply or error. Callers keep slots
 * beside whatever asked for them (a queue, a job, a key), so a reply can never be read under
 * another command's name: there is no index arithmetic to get wrong when the number of commands
 * per item varies. A slot read before `exec` throws, which a test catches on the first run.
 *
 * An error reply stays in its slot: the caller decides whether it concerns one key (skip it) or
 * the connection (let the part fail). A connection that is gone fills every slot with its error.
 */
import type { ChainableCommander, Redis } from 'ioredis'

export type Reply<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error }

export interface Slot<T> {
  /** the command's reply; throws if read before the batch ran */
  readonly reply: Reply<T>
  /** the value, or `fallback` when the command failed */
  valueOr<F>(fallback: F): T | F
}

export interface Batch {
  /** queues one command; `enqueue` must add exactly one command to the pipeline */
  add<T>(enqueue: (pipeline: ChainableCommander) => unknown): Slot<T>
  /** commands queued so far */
  readonly size: number
  /** sends every queued command in one round trip (none when empty) and fills the slots */
  exec(): Promise<void>
}

class ReplySlot<T> implements Slot<T> {
  #reply: Reply<T> | null = null

  get reply(): Reply<T> {
    if (this.#reply === null) throw new Error('batch slot read before the batch ran')
    return this.#reply
  }

  fill(reply: Reply<T>): void {
    this.#reply = reply
  }

  valueOr<F>(fallback: F): T | F {
    const reply = this.reply
    return reply.ok ? reply.value : fallback
  }
}

export function createBatch(redis: Pick<Redis, 'pipeline'>): Batch {
  const pipeline = redis.pipeline()
  const slots: ReplySlot<unknown>[] = []
  let ran = false
  /** an add that queued the wrong number of commands leaves the pipeline out of step for good */
  let broken = false

  return {
    add<T>(enqueue: (pipeline: ChainableCommander) => unknown): Slot<T> {
      if (ran) throw new Error('batch already ran')
      const before = pipeline.length
      enqueue(pipeline)
      if (pipeline.length !== before + 1) {
        broken = true
        throw new Error(`a batch slot must queue one command, not ${pipeline.length - before}`)
      }
      const slot = new ReplySlot<T>()
      slots.push(slot)
      return slot
    },
    get size() {
      return slots.length
    },
    async exec(): Promise<void> {
      if (ran) throw new Error('batch already ran')
      if (broken) throw new Error('batch is out of step: a slot queued the wrong number of commands')
      ran = true
      if (slots.length === 0) return
      const replies = (await pipeline.exec()) ?? []
      if (replies.length !== slots.length) throw new Error(`pipeline answered ${replies.length} of ${slots.length} commands`)
      slots.forEach((slot, i) => {
        const [error, value] = replies[i]!
        slot.fill(error ? { ok: false, error } : { ok: true, value })
      })
    },
  }
}
