/**
 * The pure pieces: key shapes of discovered queues, the throughput rule, service names of
 * discovered queues, sorting with unknown values, and the formatting helpers.
 */
import t from 'tap'
import { isValidName } from '@gravito/quasar/protocol'
import { bullmqKeys, laravelKeys, parseBullmqMeta, parseLaravelKey } from '../../server/redis/keys.js'
import { createThroughput } from '../../server/queues/throughput.js'
import { discoveredService, discoveredServices } from '../../server/queues/collector-part.js'
import { prettyPayload, sortQueues } from '../../server/queues/service.js'
import { age, driverBadge, rate } from '../../server/queues/view-helpers.js'
import type { QueueRecord } from '../../server/queues/records.js'

t.test('BullMQ meta keys: any prefix, any name BullMQ allows', async (t) => {
  t.same(parseBullmqMeta('bull:emails:meta'), { prefix: 'bull', queue: 'emails' })
  t.same(parseBullmqMeta('myapp:bull:emails:meta'), { prefix: 'myapp:bull', queue: 'emails' })
  t.same(parseBullmqMeta('{bull}:emails:meta'), { prefix: '{bull}', queue: 'emails' })
  t.same(parseBullmqMeta('bull:send email:meta'), { prefix: 'bull', queue: 'send email' })
  t.same(parseBullmqMeta('bull:emails@v2:meta'), { prefix: 'bull', queue: 'emails@v2' })
  t.same(parseBullmqMeta('bull:correo-électronique:meta'), { prefix: 'bull', queue: 'correo-électronique' })
  t.equal(parseBullmqMeta('emails:meta'), null, 'no prefix')
  t.equal(parseBullmqMeta('bull::meta'), null, 'no name')
  t.equal(parseBullmqMeta('bull:emails:wait'), null)
  t.equal(bullmqKeys('bull', 'send email').wait, 'bull:send email:wait')
  t.equal(bullmqKeys('{bull}', 'emails').job('42'), '{bull}:emails:42')
})

t.test('Laravel queue keys: any prefix, names with ":" and braces', async (t) => {
  t.same(parseLaravelKey('queues:emails'), { prefix: '', queue: 'emails' })
  t.same(parseLaravelKey('queues:emails:delayed'), { prefix: '', queue: 'emails' })
  t.same(parseLaravelKey('queues:emails:reserved'), { prefix: '', queue: 'emails' })
  t.same(parseLaravelKey('laravel_database_queues:default'), { prefix: 'laravel_database_', queue: 'default' })
  t.same(parseLaravelKey('queues:{high}'), { prefix: '', queue: '{high}' })
  t.same(parseLaravelKey('queues:a:b'), { prefix: '', queue: 'a:b' })
  t.same(parseLaravelKey('queues:a:b:delayed'), { prefix: '', queue: 'a:b' })
  t.same(parseLaravelKey('app:queues:a*b'), { prefix: 'app:', queue: 'a*b' })
  t.equal(parseLaravelKey('queues:emails:notify'), null, 'the notify list outlives the queue')
  t.equal(parseLaravelKey('queues:'), null)
  t.equal(laravelKeys('p_', 'a:b').delayed, 'p_queues:a:b:delayed')
})

t.test('discovered queues: one readable service per driver and prefix, never merged', async (t) => {
  t.equal(discoveredService({ driver: 'bullmq', prefix: 'bull', queue: 'q' }), 'bull')
  const braced = discoveredService({ driver: 'bullmq', prefix: '{bull}', queue: 'q' })
  const colon = discoveredService({ driver: 'bullmq', prefix: 'app:bull', queue: 'q' })
  t.match(braced, /^bull-[0-9a-f]{8}$/, `{bull} reads as bull, tagged (${braced})`)
  t.match(colon, /^app-bull-[0-9a-f]{8}$/, `app:bull reads as app-bull, tagged (${colon})`)
  t.not(discoveredService({ driver: 'bullmq', prefix: 'app-bull', queue: 'q' }), colon, 'a prefix that is already a name keeps it, and differs from the cleaned one')
  t.ok(isValidName(braced) && isValidName(colon))
  t.equal(discoveredService({ driver: 'laravel', prefix: '', queue: 'q' }), 'laravel')
  t.equal(discoveredService({ driver: 'laravel', prefix: 'laravel_database_', queue: 'q' }), 'laravel_database')
  t.equal(discoveredService({ driver: 'laravel', prefix: 'app:', queue: 'q' }), 'app', 'the trailing separator goes')
  t.match(discoveredService({ driver: 'laravel', prefix: '{app}:', queue: 'q' }), /^app-[0-9a-f]{8}$/)
  // a BullMQ prefix `laravel` and Laravel keys without a prefix would both read `laravel`
  const refs = [
    { driver: 'laravel', prefix: '', queue: 'default' },
    { driver: 'bullmq', prefix: 'laravel', queue: 'default' },
    { driver: 'bullmq', prefix: 'laravel', queue: 'other' },
  ] as const
  for (const order of [refs, [...refs].reverse()]) {
    const services = discoveredServices(order)
    t.equal(services.get('bullmq|laravel|default'), 'laravel', 'the first in a fixed order keeps the name, whatever the input order')
    t.equal(services.get('bullmq|laravel|other'), 'laravel', 'one prefix, one service')
    t.match(services.get('laravel||default'), /^laravel-[0-9a-f]{8}$/)
  }
})

t.test('throughput', async (t) => {
  const tp = createThroughput()
  t.equal(tp.observe('q', 0, { completed: 0 }), undefined, 'first reading')
  t.equal(tp.observe('q', 4_000, { completed: 10, failed: 2 }), 3, '(10 + 2) / 4 s')
  t.equal(tp.observe('q', 4_000, { completed: 99 }), 3, 'the same reading time keeps its rate')
  t.equal(tp.observe('q', 2_000, { completed: 20 }), undefined, 'time went back: start over')
  t.equal(tp.observe('q', 3_000, { completed: 21 }), 1)
  t.equal(tp.observe('q', 4_000, { completed: 5 }), undefined, 'reset')
  t.equal(tp.observe('q', 5_000, { completed: 5 }), 0, 'idle')
  t.equal(tp.observe('q', 6_000, {}), undefined, 'no completed count: no rate')
  t.equal(tp.observe('q', 7_000, { completed: 5 }), undefined, 'and the series starts over')
  const bounded = createThroughput(2)
  bounded.observe('a', 0, { completed: 0 })
  bounded.observe('b', 0, { completed: 0 })
  bounded.observe('c', 0, { completed: 0 })
  t.equal(bounded.observe('a', 1_000, { completed: 1 }), undefined, 'the oldest queue was forgotten past the bound')
  t.equal(bounded.observe('c', 1_000, { completed: 1 }), 1)
  tp.retain(new Set())
  t.equal(tp.observe('q', 8_000, { completed: 6 }), undefined, 'retain drops what is gone')
})

t.test('throughput from a processed counter, where finished jobs are removed', async (t) => {
  const tp = createThroughput()
  t.equal(tp.observe('q', 0, { completed: 0, failed: 0, processed: 100 }), undefined, 'first reading')
  t.equal(tp.observe('q', 10_000, { completed: 0, failed: 0, processed: 150 }), 5, 'completed stays 0, the counter moved: 50 / 10 s')
  t.equal(tp.observe('q', 20_000, { completed: 40, failed: 9, processed: 160 }), 1, 'the counter wins over the kept sets')
  t.equal(tp.observe('q', 30_000, { completed: 40, processed: 10 }), undefined, 'the counter went down (reset): no rate')
  t.equal(tp.observe('q', 40_000, { completed: 60 }), undefined, 'switching to the kept sets starts the series over')
  t.equal(tp.observe('q', 50_000, { completed: 70 }), 1)
  t.equal(tp.observe('q', 60_000, { completed: 70, processed: 500 }), undefined, 'and switching back too')
})

t.test('sorting keeps unknown values last both ways', async (t) => {
  const record = (name: string, failed: number | null): QueueRecord => ({ service: 's', name, driver: 'bullmq', source: 'agent', commands: [], waiting: 0, active: null, delayed: null, failed, timestamp: 0 })
  const list = [record('a', null), record('b', 3), record('c', 1), record('d', 3)]
  t.same(
    sortQueues(list, 'failed', 'desc').map((r) => r.name),
    ['b', 'd', 'c', 'a'],
    'ties by name',
  )
  t.same(
    sortQueues(list, 'failed', 'asc').map((r) => r.name),
    ['c', 'b', 'd', 'a'],
  )
  t.same(
    sortQueues(list, 'name', 'desc').map((r) => r.name),
    ['d', 'c', 'b', 'a'],
  )
})

t.test('formatting', async (t) => {
  t.equal(rate(undefined), '–')
  t.equal(rate(-1), '–')
  t.equal(rate(Number.NaN), '–')
  t.equal(rate(0), '0/s')
  t.equal(rate(0.004), '<0.01/s')
  t.equal(rate(0.4), '0.4/s')
  t.equal(rate(5.555), '5.55/s')
  t.equal(rate(12.34), '12.3/s')
  t.equal(rate(1234.5), '1,235/s')
  t.equal(age(undefined), '–')
  t.equal(age(65_000), '1m 5s')
  t.equal(age(400), '0s')
  t.same(driverBadge('bullmq'), { key: 'bullmq', label: 'BullMQ' })
  t.same(driverBadge('"><script>'), { key: 'other', label: 'other' }, 'never agent text in a class name')
  t.same(driverBadge('__proto__'), { key: 'other', label: 'other' })
  t.equal(prettyPayload('{"a":[1,2]}'), '{\n  "a": [\n    1,\n    2\n  ]\n}')
  t.equal(prettyPayload('{"a":…'), '{"a":…', 'a cut payload is shown as it is')
  t.equal(prettyPayload('plain text'), 'plain text')
})
