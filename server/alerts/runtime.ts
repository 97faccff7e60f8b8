/**
 * Runs the alerts on every snapshot: evaluates the rules (synchronously, in memory), then applies
 * the resulting transitions to Redis and hands messages to the dispatcher in the background, so
 * the collector's tick never waits for Redis writes of alerts or for a receiver.
 *
 * An evaluation's transitions are written in batches of WRITE_BATCH, and its messages go out once
 * all are written: one per rule, kind and channel (./announce.ts), however many targets changed.
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
import { GROUP_NAMES_SHOWN } from './channels/message.js'
import { maskUrl } from './channels/url.js'
import { createEventGroups, deliveriesFor, type EventGroup } from './announce.js'
import { alertsOf, type FiringAlert } from './collector-part.js'
import { HISTORY_EVENTS, type HistoryEvent } from './schemas.js'

/**
 * Transitions per round trip. Big enough that a mass event takes a few round trips, small enough
 * that a shutdown can stop between batches and that one batch never holds Redis for long.
 */
export const WRITE_BATCH = 500

type EventGroups = ReturnType<typeof createEventGroups>
type Transitions = ReturnType<AlertStore['transitions']>

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
    const groups = createEventGroups()
    for (let start = 0; start < intents.length; start += WRITE_BATCH) {
      if (abandoned) {
        unwritten += intents.length - start
        break
      }
      await applyBatch(intents.slice(start, start + WRITE_BATCH), groups)
    }
    for (const group of groups.list()) {
      logGroup(group)
      for (const delivery of deliveriesFor(group, channelByName)) dispatcher.enqueue(delivery)
    }
  }

  /** Two round trips: the transitions' scripts, then the history events of those this replica owns. */
  async function applyBatch(intents: AlertIntent[], groups: EventGroups): Promise<void> {
    const transitions = store.transitions()
    const staged = intents.map((intent) => ({ intent, event: stage(transitions, intent) }))
    try {
      await transitions.exec()
    } catch (error) {
      log.error({ err: error, count: intents.length }, 'alert transitions could not be recorded')
      return
    }
    const history = store.events()
    const recorded: { intent: AlertIntent; event: HistoryEvent; id: () => string }[] = []
    for (const { intent, event: eventOf } of staged) {
      try {
        const event = eventOf()
        if (event) recorded.push({ intent, event, id: history.record(event) })
      } catch (error) {
        log.error({ err: error, rule: intent.rule.name, target: intent.target.id }, `alert ${intent.kind} could not be recorded`)
      }
    }
    try {
      await history.exec()
    } catch (error) {
      log.error({ err: error, count: recorded.length }, 'alert events could not be recorded')
      return
    }
    for (const { intent, event, id } of recorded) {
      try {
        groups.add(event, id())
      } catch (error) {
        log.error({ err: error, rule: intent.rule.name, target: intent.target.id }, `alert ${intent.kind} event could not be recorded`)
      }
    }
  }

  /**
   * Queues an intent's script; the returned function, called once the batch ran, gives the history
   * event to record, or null when another replica owns the transition (or nothing changed).
   */
  function stage(transitions: Transitions, intent: AlertIntent): () => HistoryEvent | null {
    const { rule, target } = intent
    const channels = [...rule.channels]
    const base = eventBase(intent)
    switch (intent.kind) {
      case 'firing': {
        const result = transitions.fire({ ...withoutAt(base), value: intent.value, firedAt: intent.firedAt, channels }, intent.at, rule.cooldownMs, intent.notify)
        return () => {
          const fired = result()
          if (!fired.owner) return null
          const message = fired.send ? 'queued' : channels.length > 0 ? 'cooldown' : 'none'
          return { ...base, kind: 'firing', message, channels }
        }
      }
      case 'reminder': {
        if (!intent.notify) return () => null
        const claimed = transitions.remind(rule.name, target.id, intent.at, rule.cooldownMs)
        return () => (claimed() ? { ...base, kind: 'reminder', message: 'queued', channels } : null)
      }
      case 'resolved':
      case 'gone': {
        const result = transitions.close(rule.name, target.id)
        return () => {
          const closed = result()
          if (!closed.owner) return null
          const message = intent.kind === 'resolved' && closed.announce && channels.length > 0 ? 'queued' : 'none'
          return { ...base, kind: intent.kind, message, channels }
        }
      }
    }
  }

  /** One line per rule and kind: a mass event must not write thousands of lines either. */
  function logGroup(group: EventGroup): void {
    if (group.kind === 'reminder') return
    const { events } = group
    const fields =
      events.length === 1
        ? { rule: group.rule, target: events[0]!.event.target, value: events[0]!.event.value }
        : { rule: group.rule, count: events.length, targets: events.slice(0, GROUP_NAMES_SHOWN).map((recorded) => recorded.event.target) }
    if (group.kind === 'firing') log.warn(fields, 'alert firing')
    else log.info(fields, `alert ${group.kind}`)
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
      const [eventId, ...more] = delivery.eventIds
      await store.recordDelivery({
        eventId: eventId!,
        // the history shows at most HISTORY_EVENTS events: the group's newest are the ones to mark
        ...(more.length > 0 && { moreEventIds: more.slice(-HISTORY_EVENTS) }),
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
