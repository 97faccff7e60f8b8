/**
 * Several keys' writes sent together: one pipeline on a single Redis, one per hash slot on a
 * Cluster (which refuses a pipeline across slots). `exec` hands every pipeline to its connection
 * in the same tick, so nothing awaited can come between them: the writes go out together or, when
 * the caller decides not to run them, not at all.
 */
import type { ChainableCommander } from 'ioredis'
import { slotOf, type AgentRedis } from './client.js'

export type PipelineResult = [error: Error | null, value: unknown]

export class SlotPipelines {
  readonly #redis: AgentRedis
  readonly #bySlot = new Map<number, ChainableCommander>()

  constructor(redis: AgentRedis) {
    this.#redis = redis
  }

  /** The pipeline a command on `key` goes in (for a multi-key command, all its keys share a slot). */
  for(key: string): ChainableCommander {
    const slot = slotOf(this.#redis, key)
    let pipeline = this.#bySlot.get(slot)
    if (!pipeline) this.#bySlot.set(slot, (pipeline = this.#redis.pipeline()))
    return pipeline
  }

  /** Pipelines queued so far: one per slot on a Cluster, at most one on a single Redis. */
  get size(): number {
    return this.#bySlot.size
  }

  /**
   * Sends every pipeline now; resolves with every command's result once all are answered. A
   * pipeline that fails as a whole (its shard unreachable) yields its error for each of its commands.
   */
  async exec(): Promise<PipelineResult[]> {
    const sent = await this.execEach()
    return sent.flatMap(({ pipeline, outcome }) => (outcome.status === 'fulfilled' ? outcome.value : Array.from({ length: pipeline.length }, (): PipelineResult => [asError(outcome.reason), null])))
  }

  /** Sends every pipeline now; each one's results, or why it got none. */
  execEach(): Promise<{ pipeline: ChainableCommander; outcome: PromiseSettledResult<PipelineResult[]> }[]> {
    const pipelines = [...this.#bySlot.values()]
    const sent = pipelines.map((pipeline) => pipeline.exec().then((results) => (results ?? []).map(([error, value]): PipelineResult => [error, value])))
    return Promise.allSettled(sent).then((outcomes) => outcomes.map((outcome, n) => ({ pipeline: pipelines[n]!, outcome })))
  }
}

export function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason))
}
