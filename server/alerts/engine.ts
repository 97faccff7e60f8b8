/**
 * The alert engine: a pure state machine per (rule, target), fed one MetricSource per snapshot.
 * It never reads a clock or Redis; time is the source's `at`, so tests drive it with synthetic
 * samples. It returns intents (fire, remind, resolve, forget); the runtime turns them into Redis
 * writes and messages, with Redis deciding between replicas.
 *
 *   ok ──condition true──▶ pending ──held on every sample for `for`──▶ firing ──value past clear──▶ ok
 *          ◀──one false (or missing) sample──┘
 *
 * The cool-down is per (rule, target) and outlives the episode: a new episode within it fires
 * without a message, and a message goes out once the cool-down ends if it is still firing.
 */
import type { MetricSample, MetricSource, MetricTarget } from './metrics.js'
import type { AlertRule } from './rules.js'

export type IntentKind = 'firing' | 'reminder' | 'resolved' | 'gone'

export interface AlertIntent {
  readonly kind: IntentKind
  readonly rule: AlertRule
  readonly target: MetricTarget
  /** for queue_failed, the rise within the window; otherwise the metric's value */
  readonly value: number
  readonly at: number
  readonly firedAt: number
  /**
   * firing/reminder: a message should go out (the rule has channels and the cool-down is over);
   * resolved: a firing message went out for this episode, so its resolution is announced too
   */
  readonly notify: boolean
}

/** A firing alert known from elsewhere (Redis, after a restart), to continue instead of re-fire. */
export interface FiringSeed {
  readonly rule: string
  readonly target: MetricTarget
  readonly value: number
  readonly firedAt: number
}

export interface EngineOptions {
  /** a firing alert whose target stops reporting is dropped ("gone") after this long */
  forgetAfterMs?: number
}

interface TargetState {
  readonly rule: AlertRule
  readonly target: MetricTarget
  phase: 'ok' | 'pending' | 'firing'
  /** pending: when the condition became true; firing: when it fired */
  since: number
  lastSeenAt: number
  /** the evaluation that last had a sample for this target */
  seenIn: number
  /** the last value evaluated (for queue_failed, the last rise) */
  value: number
  cooldownUntil: number
  /** a firing message went out (or was claimed) for the current episode */
  notified: boolean
  /** queue_failed: recent failed counts, oldest first */
  samples: { t: number; v: number }[]
}

export const DEFAULT_FORGET_AFTER_MS = 10 * 60_000

export function createAlertEngine(rules: readonly AlertRule[], options: EngineOptions = {}) {
  const forgetAfterMs = options.forgetAfterMs ?? DEFAULT_FORGET_AFTER_MS
  /** per rule, per target id: keyed in two levels so the hot loop builds no key strings */
  const statesByRule = new Map<string, Map<string, TargetState>>(rules.map((rule) => [rule.name, new Map()]))
  const ruleByName = new Map(rules.map((rule) => [rule.name, rule]))
  let evaluation = 0

  /** Runs once per snapshot over every sample (tens of thousands with 10 k nodes): keep it lean. */
  function evaluate(source: MetricSource): AlertIntent[] {
    const now = source.at
    const intents: AlertIntent[] = []
    const byMetric = groupByMetric(source.samples)
    evaluation++
    for (const rule of rules) {
      const states = statesByRule.get(rule.name)!
      if (source.unread?.has(rule.metric)) {
        restartPending(states)
        continue
      }
      for (const { target, value: reading } of byMetric.get(rule.metric) ?? []) {
        if ((rule.service !== undefined && rule.service !== target.service) || (rule.queue !== undefined && rule.queue !== target.queue)) continue
        let state = states.get(target.id)
        if (!state) {
          state = newState(rule, target, now)
          states.set(target.id, state)
        }
        state.seenIn = evaluation
        state.lastSeenAt = now
        const value = rule.metric === 'queue_failed' ? riseWithin(state, reading, now) : reading
        state.value = value
        const intent = step(state, value, now)
        if (intent) intents.push(intent)
      }
      for (const [id, state] of states) {
        if (state.seenIn !== evaluation) {
          const intent = absent(states, id, state, now)
          if (intent) intents.push(intent)
        }
      }
    }
    return intents
  }

  function step(state: TargetState, value: number, now: number): AlertIntent | null {
    const { rule } = state
    const triggered = rule.op === 'above' ? value > rule.threshold : value < rule.threshold
    const cleared = rule.op === 'above' ? value < rule.clear : value > rule.clear
    switch (state.phase) {
      case 'ok':
        if (!triggered) return null
        state.phase = 'pending'
        state.since = now
        return now - state.since >= rule.forMs ? fire(state, value, now) : null
      case 'pending':
        if (!triggered) {
          state.phase = 'ok'
          return null
        }
        return now - state.since >= rule.forMs ? fire(state, value, now) : null
      case 'firing':
        if (cleared) {
          state.phase = 'ok'
          return intent(state, 'resolved', value, now, state.notified)
        }
        // between the clear and trigger lines it keeps firing; only the cool-down's end repeats it
        if (wantsMessage(state, now)) return intent(state, 'reminder', value, now, startCooldown(state, now))
        return null
    }
  }

  function fire(state: TargetState, value: number, now: number): AlertIntent {
    state.phase = 'firing'
    state.since = now
    state.notified = false
    const notify = wantsMessage(state, now) && startCooldown(state, now)
    return intent(state, 'firing', value, now, notify)
  }

  function wantsMessage(state: TargetState, now: number): boolean {
    return state.rule.channels.length > 0 && now >= state.cooldownUntil
  }

  function startCooldown(state: TargetState, now: number): true {
    state.cooldownUntil = now + state.rule.cooldownMs
    state.notified = true
    return true
  }

  function absent(states: Map<string, TargetState>, id: string, state: TargetState, now: number): AlertIntent | null {
    // no sample is not a true sample: the `for` window starts again when the target is back
    if (state.phase === 'pending') state.phase = 'ok'
    const away = now - state.lastSeenAt
    if (state.phase === 'firing') {
      if (away < forgetAfterMs) return null
      states.delete(id)
      return intent(state, 'gone', state.value, now, false)
    }
    if (away >= Math.max(forgetAfterMs, state.rule.windowMs) && now >= state.cooldownUntil) states.delete(id)
    return null
  }

  /** Redis unreachable: samples were missed, so no pending window may count as held. */
  function interrupt(): void {
    for (const states of statesByRule.values()) restartPending(states)
  }

  /**
   * Continues alerts that were firing before this engine started. Seeds of rules that no longer
   * exist are returned, so the caller can close them.
   */
  function restore<S extends FiringSeed>(seeds: readonly S[], now: number): S[] {
    const unknown: S[] = []
    for (const seed of seeds) {
      const rule = ruleByName.get(seed.rule)
      if (!rule) {
        unknown.push(seed)
        continue
      }
      const states = statesByRule.get(rule.name)!
      if (states.get(seed.target.id)?.phase === 'firing') continue
      const state = newState(rule, seed.target, now)
      state.phase = 'firing'
      state.since = seed.firedAt
      // whether a message went out is Redis's to say; assume the cool-down began when it fired
      state.notified = rule.channels.length > 0
      state.cooldownUntil = seed.firedAt + rule.cooldownMs
      state.value = seed.value
      states.set(seed.target.id, state)
    }
    return unknown
  }

  /** The engine's own view of what is firing, for tests and diagnostics. */
  function firing(): { rule: string; target: string; firedAt: number }[] {
    return [...statesByRule.values()]
      .flatMap((states) => [...states.values()])
      .filter((s) => s.phase === 'firing')
      .map((s) => ({ rule: s.rule.name, target: s.target.id, firedAt: s.since }))
  }

  return { evaluate, interrupt, restore, firing }
}

export type AlertEngine = ReturnType<typeof createAlertEngine>

/**
 * Samples were missed: a pending window may not count the gap as held, so it starts again with the
 * next reading. Firing alerts hold (no reading says they cleared), and none is forgotten ("gone")
 * meanwhile: only a fresh reading that lacks its target can say the target went away.
 */
function restartPending(states: Map<string, TargetState>): void {
  for (const state of states.values()) if (state.phase === 'pending') state.phase = 'ok'
}

function newState(rule: AlertRule, target: MetricTarget, now: number): TargetState {
  return {
    rule,
    target,
    phase: 'ok',
    since: now,
    lastSeenAt: now,
    seenIn: 0,
    value: 0,
    cooldownUntil: 0,
    notified: false,
    samples: [],
  }
}

function intent(state: TargetState, kind: IntentKind, value: number, at: number, notify: boolean): AlertIntent {
  return { kind, rule: state.rule, target: state.target, value, at, firedAt: state.since, notify }
}

/**
 * How much the failed count rose within the window: the sum of the increases between consecutive
 * samples. A drop (retry, removal, counter reset) adds nothing, and what rises after it counts.
 */
function riseWithin(state: TargetState, count: number, now: number): number {
  const { samples } = state
  samples.push({ t: now, v: count })
  const since = now - state.rule.windowMs
  while (samples.length > 1 && samples[0]!.t <= since) samples.shift()
  let rise = 0
  for (let i = 1; i < samples.length; i++) rise += Math.max(0, samples[i]!.v - samples[i - 1]!.v)
  return rise
}

function groupByMetric(samples: readonly MetricSample[]): Map<string, MetricSample[]> {
  const groups = new Map<string, MetricSample[]>()
  for (const sample of samples) {
    const group = groups.get(sample.metric)
    if (group) group.push(sample)
    else groups.set(sample.metric, [sample])
  }
  return groups
}
