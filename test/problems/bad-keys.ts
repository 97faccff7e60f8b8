/**
 * Many bad keys of many kinds, as hostile or careless agents write them, beside good keys of every
 * kind. Each bad key says which reason the console must give for it. Used by the /problems tests
 * and the `zenith doctor` tests, in shuffled orders.
 */
import type { Redis } from 'ioredis'
import { createKeys } from '@gravito/quasar/protocol'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { shuffled } from '../helpers/shuffle.js'

const keys = createKeys()

export interface BadKey {
  readonly kind: string
  readonly key: string
  /** a slow-stream entry is reported as `{stream key} {entry id}` */
  readonly perEntry?: true
  readonly reason: RegExp
  write(redis: Redis, now: number): Promise<unknown>
}

export interface GoodKey {
  readonly key: string
  write(redis: Redis, now: number): Promise<unknown>
}

const beat = (now: number, service: string, id: string) => JSON.stringify(sampleHeartbeat({ timestamp: now, service, id }))

/** one bad key of a kind, for instance `i` (each instance in a service of its own) */
const KINDS: ((i: number) => BadKey)[] = [
  (i) => ({ kind: 'malformed JSON', key: keys.node(`json-${i}`, 'n1'), reason: /malformed JSON/, write: (r, _now) => r.set(keys.node(`json-${i}`, 'n1'), '{"timestamp": 1,', 'EX', 30) }),
  (i) => ({ kind: 'not an object', key: keys.node(`array-${i}`, 'n1'), reason: /not a JSON object/, write: (r) => r.set(keys.node(`array-${i}`, 'n1'), '[1,2,3]', 'EX', 30) }),
  (i) => ({ kind: 'hash at a node key', key: keys.node(`hash-${i}`, 'n1'), reason: /holds a hash/, write: (r) => r.hset(keys.node(`hash-${i}`, 'n1'), 'timestamp', '1') }),
  (i) => ({ kind: 'list at a node key', key: keys.node(`list-${i}`, 'n1'), reason: /holds a list/, write: (r) => r.rpush(keys.node(`list-${i}`, 'n1'), 'a') }),
  (i) => ({
    kind: 'huge heartbeat',
    key: keys.node(`huge-${i}`, 'n1'),
    reason: /over 65536/,
    write: (r, now) => r.set(keys.node(`huge-${i}`, 'n1'), JSON.stringify({ timestamp: now, hostname: 'x'.repeat(70_000 + i) }), 'EX', 30),
  }),
  (i) => ({ kind: 'timestamp of the wrong type', key: keys.node(`ts-${i}`, 'n1'), reason: /timestamp/, write: (r) => r.set(keys.node(`ts-${i}`, 'n1'), '{"timestamp": "now"}', 'EX', 30) }),
  (i) => ({
    kind: 'fields of the wrong shape',
    key: keys.node(`fields-${i}`, 'n1'),
    reason: /cpu/,
    write: (r, now) => r.set(keys.node(`fields-${i}`, 'n1'), JSON.stringify({ ...sampleHeartbeat({ timestamp: now, service: `fields-${i}`, id: 'n1' }), cpu: { system: 'high', process: 1, cores: 2 } }), 'EX', 30),
  }),
  (i) => ({ kind: 'service name with a space', key: `gravito:quasar:node:bad service ${i}:n1`, reason: /name rule/, write: (r, now) => r.set(`gravito:quasar:node:bad service ${i}:n1`, beat(now, 'x', 'n1'), 'EX', 30) }),
  (i) => ({ kind: 'markup in a key name', key: `gravito:quasar:node:<b>svc${i}</b>:n1`, reason: /name rule/, write: (r, now) => r.set(`gravito:quasar:node:<b>svc${i}</b>:n1`, beat(now, 'x', 'n1'), 'EX', 30) }),
  (i) => ({ kind: 'queue snapshot of malformed JSON', key: keys.queues(`qjson-${i}`), reason: /malformed JSON/, write: (r) => r.set(keys.queues(`qjson-${i}`), '{"queues": [', 'EX', 30) }),
  (i) => ({ kind: 'hash at a queue snapshot key', key: keys.queues(`qhash-${i}`), reason: /WRONGTYPE/, write: (r) => r.hset(keys.queues(`qhash-${i}`), 'queues', '[]') }),
  (i) => ({
    kind: 'huge queue snapshot',
    key: keys.queues(`qhuge-${i}`),
    reason: /bytes, over/,
    write: (r, now) => r.set(keys.queues(`qhuge-${i}`), JSON.stringify({ service: `qhuge-${i}`, timestamp: now, queues: [], pad: 'x'.repeat(2_000_000) }), 'EX', 30),
  }),
  (i) => ({
    kind: 'queue entry off the protocol',
    key: keys.queues(`qentry-${i}`),
    reason: /^queues\[1\]\.metrics\.waiting: a string, not a number$/,
    write: (r, now) =>
      r.set(
        keys.queues(`qentry-${i}`),
        JSON.stringify({
          service: `qentry-${i}`,
          timestamp: now,
          queues: [
            { name: 'ok', driver: 'bullmq', metrics: { waiting: 1 } },
            { name: 'bad', driver: 'bullmq', metrics: { waiting: 'many' } },
          ],
        }),
        'EX',
        30,
      ),
  }),
  (i) => ({ kind: 'string at a slow stream key', key: keys.slow(`sstring-${i}`), reason: /string|stream/, write: (r) => r.set(keys.slow(`sstring-${i}`), 'slow') }),
  (i) => ({
    kind: 'slow entry off the protocol',
    key: keys.slow(`sentry-${i}`),
    perEntry: true,
    reason: /durationMs/,
    write: (r, now) => r.xadd(keys.slow(`sentry-${i}`), '*', 'kind', 'job', 'name', 'x', 'durationMs', 'slow', 'timestamp', String(now), 'nodeId', 'n1'),
  }),
  (i) => ({
    kind: 'slow stream with a bad name',
    key: `gravito:quasar:slow:bad*name${i}`,
    reason: /name rule/,
    write: (r, now) => r.xadd(`gravito:quasar:slow:bad*name${i}`, '*', 'kind', 'job', 'name', 'x', 'durationMs', '1200', 'timestamp', String(now), 'nodeId', 'n1'),
  }),
]

export const KIND_COUNT = KINDS.length

/** `instances` bad keys of every kind */
export function badKeys(instances: number): BadKey[] {
  return KINDS.flatMap((kind) => Array.from({ length: instances }, (_, i) => kind(i)))
}

/** A good key of every kind: a node, its queue snapshot, its slow stream. */
export function goodKeys(services: number): GoodKey[] {
  return Array.from({ length: services }, (_, i) => `good-${i}`).flatMap((service) => [
    { key: keys.node(service, 'n1'), write: (r: Redis, now: number) => r.set(keys.node(service, 'n1'), beat(now, service, 'n1'), 'EX', 30) },
    {
      key: keys.queues(service),
      write: (r: Redis, now: number) =>
        r.set(keys.queues(service), JSON.stringify({ service, timestamp: now, nodeId: 'n1', queues: [{ name: 'emails', driver: 'bullmq', metrics: { waiting: 3, active: 1, failed: 0 } }] }), 'EX', 30),
    },
    { key: keys.slow(service), write: (r: Redis, now: number) => r.xadd(keys.slow(service), '*', 'kind', 'job', 'name', 'send', 'durationMs', '1500', 'timestamp', String(now), 'nodeId', 'n1') },
  ])
}

/** Writes good and bad keys together in the order `seed` gives. */
export async function seed(redis: Redis, now: number, bad: readonly BadKey[], good: readonly GoodKey[], order: number): Promise<void> {
  for (const item of shuffled<BadKey | GoodKey>([...bad, ...good], order)) await item.write(redis, now)
}

export interface ShownProblem {
  readonly key: string
  readonly reason: string
}

/** The problems shown for a bad key (a slow entry's are under its stream key plus the entry id). */
export function problemsOf(bad: BadKey, problems: readonly ShownProblem[]): ShownProblem[] {
  return problems.filter((problem) => (bad.perEntry ? problem.key.startsWith(`${bad.key} `) : problem.key === bad.key))
}
