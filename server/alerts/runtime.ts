/**
 * Runs the alerts on every snapshot: evaluates the rules (synchronously, in memory), then applies
 * the resulting transitions to Redis and hands messages to the dispatcher in the background, so
 * the collector's tick never waits for Redis writes of alerts or for a receiver.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../clock.js'
import type { Snapshot } from '../collector/snapshot.js'
import type { AlertEngine, AlertIntent, FiringSeed } from './engine.js'
import { metricsFromSnapshot, type MetricTarget } from './metrics.js'
import type { AlertRules } from './rules.js'
import type { AlertStore } from './store.js'
import type { Dispatcher, Delivery } from './dispatcher.js'
import type { DeliveryOutcome } from './channels/deliver.js'
import type { AlertMessage } from './channels/message.js'
import { maskUrl } from './channels/url.js'
import { alertsOf, type FiringAlert } from './collector-part.js'
import type { HistoryEvent } from './schemas.js'

export interface AlertRuntimeDeps {
  config: AlertRules
  engine: AlertEngine
  store: AlertStore
  dispatcher: Dispatcher
  clock: Clock
  log: FastifyBaseLogger
}

export function createAlertRuntime(deps: AlertRuntimeDeps) {
  const { config, engine, store, dispatcher, log } = deps
  const channelByName = new Map(config.channels.map((channel) => [channel.name, channel]))
  let chain: Promise<void> = Promise.resolve()
  let restored = false
  // set by close(): no snapshot is evaluated after the first, no write is started after the second
  let closing = false
  let abandoned = false
  let unwritten = 0

  function onSnapshot(snapshot: Snapshot): void {
    if (closing) return
    // Redis silent: nothing was read. A single failed part is narrower: metricsFromSnapshot leaves
    // out only that part's stale data, and the rules on it wait (see MetricSource.unread)
    if (!snapshot.redis.up) {
      engine.interrupt()
      return
    }
    if (!restored) {
      restored = true
      // continue what was firing before this process started instead of firing it again
      const orphans = engine.restore(alertsOf(snapshot).firing.map(toSeed), snapshot.generatedAt)
      for (const orphan of orphans) void enqueueWork(() => closeOrphan(orphan.alert, snapshot.generatedAt))
    }
    const intents = engine.evaluate(metricsFromSnapshot(snapshot))
    if (intents.length > 0) void enqueueWork(() => applyAll(intents))
  }

  function enqueueWork(work: () => Promise<void>): Promise<void> {
    chain = chain.then(work).catch((error) => log.error({ err: error }, 'alert state could not be written to Redis'))
    return chain
  }

  async function applyAll(intents: AlertIntent[]): Promise<void> {
    for (const [index, intent] of intents.entries()) {
      if (abandoned) {
        unwritten += intents.length - index
        return
      }
      try {
        await apply(intent)
      } catch (error) {
        log.error({ err: error, rule: intent.rule.name, target: intent.target.id }, `alert ${intent.kind} could not be recorded`)
      }
    }
  }

  async function apply(intent: AlertIntent): Promise<void> {
    const { rule, target } = intent
    const channels = [...rule.channels]
    const base = eventBase(intent)
    switch (intent.kind) {
      case 'firing': {
        const result = await store.fire({ ...withoutAt(base), value: intent.value, firedAt: intent.firedAt, channels }, intent.at, rule.cooldownMs, intent.notify)
        if (!result.owner) return
        const message = result.send ? 'queued' : channels.length > 0 ? 'cooldown' : 'none'
        log.warn({ rule: rule.name, target: target.id, value: intent.value }, 'alert firing')
        return record({ ...base, kind: 'firing', message, channels })
      }
      case 'reminder': {
        if (!intent.notify || !(await store.remind(rule.name, target.id, intent.at, rule.cooldownMs))) return
        return record({ ...base, kind: 'reminder', message: 'queued', channels })
      }
      case 'resolved':
      case 'gone': {
        const result = await store.close(rule.name, target.id)
        if (!result.owner) return
        const message = intent.kind === 'resolved' && result.announce && channels.length > 0 ? 'queued' : 'none'
        log.info({ rule: rule.name, target: target.id, value: intent.value }, `alert ${intent.kind}`)
        return record({ ...base, kind: intent.kind, message, channels })
      }
    }
  }

  async function record(event: HistoryEvent): Promise<void> {
    const id = await store.recordEvent(event)
    if (event.message !== 'queued' || event.kind === 'gone') return
    const message: AlertMessage = { ...event, kind: event.kind }
    for (const name of event.channels) {
      const channel = channelByName.get(name)
      if (channel) dispatcher.enqueue({ eventId: id, channel, message })
    }
  }

  /** An alert left firing in Redis by a rule that is no longer configured. */
  async function closeOrphan(seed: FiringAlert, now: number): Promise<void> {
    const result = await store.close(seed.rule, seed.target)
    if (!result.owner) return
    const { notified: _notified, ...record } = seed
    await store.recordEvent({ ...record, kind: 'gone', at: now, message: 'none' })
  }

  /** Dispatcher callback: the outcome goes to the history, failures to the log (URL masked). */
  async function onDelivery(delivery: Delivery, outcome: DeliveryOutcome): Promise<void> {
    const { channel } = delivery
    if (!outcome.ok) {
      log.warn({ channel: channel.name, url: maskUrl(channel.url), attempts: outcome.attempts, error: outcome.error }, 'alert message not delivered')
    }
    try {
      await store.recordDelivery({
        eventId: delivery.eventId,
        channel: channel.name,
        ok: outcome.ok,
        attempts: outcome.attempts,
        ...(outcome.error !== undefined && { error: outcome.error.slice(0, 300) }),
        at: deps.clock(),
      })
    } catch (error) {
      log.error({ err: error, channel: channel.name }, 'alert delivery result could not be recorded')
    }
  }

  /** Resolves once every transition is written and every message has an outcome (tests). */
  async function idle(): Promise<void> {
    for (;;) {
      const current = chain
      await current
      await dispatcher.idle()
      if (current === chain) return
    }
  }

  /**
   * Shutdown: stop evaluating, abort deliveries, and give the writes in progress `waitMs` to finish.
   * A mass event (thousands of nodes lost at once) can queue more writes than a shutdown may wait
   * for; those are dropped, not failed one by one against a closing connection. Nothing is lost for
   * good: alert state lives in Redis and the next start evaluates the fleet again.
   */
  async function close(waitMs: number): Promise<void> {
    closing = true
    await dispatcher.close()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), waitMs)))
    const outcome = await Promise.race([idle().then(() => 'drained' as const), deadline])
    clearTimeout(timer)
    if (outcome === 'drained') return
    abandoned = true
    // the write in flight ends on its own; every later one sees `abandoned` and stops
    await chain
    log.warn({ unwritten }, 'console closing: alert transitions left unwritten; the next start evaluates them again')
  }

  return { onSnapshot, onDelivery, idle, close }
}

export type AlertRuntime = ReturnType<typeof createAlertRuntime>

function toSeed(alert: FiringAlert): FiringSeed & { alert: FiringAlert } {
  const target: MetricTarget = {
    id: alert.target,
    service: alert.service,
    ...(alert.nodeId !== undefined && { nodeId: alert.nodeId }),
    ...(alert.queue !== undefined && { queue: alert.queue }),
  }
  return { rule: alert.rule, target, value: alert.value, firedAt: alert.firedAt, alert }
}

function eventBase(intent: AlertIntent) {
  const { rule, target } = intent
  return {
    rule: rule.name,
    metric: rule.metric,
    target: target.id,
    service: target.service,
    ...(target.nodeId !== undefined && { nodeId: target.nodeId }),
    ...(target.queue !== undefined && { queue: target.queue }),
    op: rule.op,
    value: intent.value,
    threshold: rule.threshold,
    at: intent.at,
    firedAt: intent.firedAt,
  }
}

/** The firing record has `firedAt`; `at` belongs to events only. */
function withoutAt(base: ReturnType<typeof eventBase>) {
  const { at: _at, ...rest } = base
  return rest
}
