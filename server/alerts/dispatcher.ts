/**
 * Delivers messages in the background so the collector never waits on a receiver: a bounded queue
 * drained by a few workers. When the queue is full the oldest waiting delivery is dropped (and
 * reported as failed), so a dead receiver costs bounded memory. Closing aborts what is in flight.
 */
import type { ChannelConfig } from './schemas.js'
import type { ChannelMessage } from './channels/message.js'
import { deliver, type DeliverOptions, type DeliveryOutcome } from './channels/deliver.js'

export interface Delivery {
  /** the history events the message announces: one, or every event of a group (oldest first) */
  readonly eventIds: readonly string[]
  readonly channel: ChannelConfig
  readonly message: ChannelMessage
}

export interface DispatcherOptions extends Omit<DeliverOptions, 'signal'> {
  maxQueued?: number
  concurrency?: number
  /** told about every delivery's outcome, including drops; must not throw */
  onResult: (delivery: Delivery, outcome: DeliveryOutcome) => void | Promise<void>
  /** the sending itself, replaceable in tests of the queue */
  send?: typeof deliver
}

export function createDispatcher(options: DispatcherOptions) {
  const maxQueued = options.maxQueued ?? 200
  const concurrency = options.concurrency ?? 4
  const send = options.send ?? deliver
  const closing = new AbortController()
  const queue: Delivery[] = []
  const running = new Set<Promise<void>>()
  let waiters: (() => void)[] = []

  function enqueue(delivery: Delivery): void {
    if (closing.signal.aborted) return
    if (queue.length >= maxQueued) {
      const dropped = queue.shift()!
      void report(dropped, { ok: false, attempts: 0, error: 'dropped: delivery queue full' })
    }
    queue.push(delivery)
    pump()
  }

  function pump(): void {
    while (running.size < concurrency && queue.length > 0) {
      const delivery = queue.shift()!
      const job: Promise<void> = run(delivery).finally(() => {
        running.delete(job)
        pump()
        if (running.size === 0 && queue.length === 0) {
          for (const wake of waiters) wake()
          waiters = []
        }
      })
      running.add(job)
    }
  }

  async function run(delivery: Delivery): Promise<void> {
    let outcome: DeliveryOutcome
    try {
      outcome = await send(delivery.channel, delivery.message, { ...options, signal: closing.signal })
    } catch (error) {
      outcome = { ok: false, attempts: 0, error: error instanceof Error ? error.message.slice(0, 200) : 'failed' }
    }
    await report(delivery, outcome)
  }

  async function report(delivery: Delivery, outcome: DeliveryOutcome): Promise<void> {
    try {
      await options.onResult(delivery, outcome)
    } catch {
      // the result reporter logs its own failures; a delivery must never reject
    }
  }

  /** Resolves once nothing is queued or in flight. */
  function idle(): Promise<void> {
    if (running.size === 0 && queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => waiters.push(resolve))
  }

  /** Drops what is queued and aborts what is in flight; resolves when those have settled. */
  async function close(): Promise<void> {
    closing.abort()
    for (const delivery of queue.splice(0)) void report(delivery, { ok: false, attempts: 0, error: 'console closing' })
    await Promise.allSettled([...running])
  }

  return {
    enqueue,
    idle,
    close,
    get pending() {
      return queue.length + running.size
    },
  }
}

export type Dispatcher = ReturnType<typeof createDispatcher>
