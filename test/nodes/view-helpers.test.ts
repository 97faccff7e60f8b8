import t from 'tap'
import { ago, span, barWidth, bytes, count, duration, millis, num, percent, share, text, utcTime, isoTime } from '../../server/web/format.js'
import { clockNote, cpuBar, diskBar, eventLoop, fragmentUrl, healthClass, healthLabel, memoryBar, queueRows, runtime } from '../../server/nodes/view-helpers.js'
import { nodeUrl } from '../../server/http/urls.js'

const hostile = [NaN, Infinity, -Infinity, undefined, null, '12', {}, [], true]

t.test('num keeps finite numbers only', async (t) => {
  t.equal(num(3.5), 3.5)
  t.equal(num(0), 0)
  t.equal(num(-1), -1)
  t.equal(num(-1, { min: 0 }), null)
  for (const value of hostile) t.equal(num(value), null, `${String(value)} is not a number`)
})

t.test('text shows agent strings and "unknown" for anything else', async (t) => {
  t.equal(text('web-1'), 'web-1')
  t.equal(text('<b>'), '<b>', 'escaping is the template’s job, the value is kept as is')
  t.equal(text(''), 'unknown')
  t.equal(text('   '), 'unknown')
  t.equal(text(42), '42')
  t.equal(text(NaN), 'unknown')
  t.equal(text({ toString: () => 'x' }), 'unknown')
  t.equal(text(undefined, '–'), '–')
})

t.test('barWidth is always within 0..100', async (t) => {
  t.equal(barWidth(42.46), 42.5)
  t.equal(barWidth(-5), 0)
  t.equal(barWidth(150), 100)
  t.equal(barWidth(1e308), 100)
  t.equal(barWidth(-1e308), 0)
  for (const value of hostile) t.equal(barWidth(value), 0)
})

t.test('share and percent', async (t) => {
  t.equal(share(1, 4), 25)
  t.equal(share(1, 0), null, 'no division by zero')
  t.equal(share(-1, 4), null)
  t.equal(share(1, -4), null)
  t.equal(share(1e308, 1e-308), null, 'an overflow to Infinity is not a share')
  t.equal(share(NaN, 4), null)
  t.equal(percent(42.46), '42%')
  t.equal(percent(4.25), '4.3%')
  t.equal(percent(0), '0%')
  t.equal(percent(100), '100%')
  t.equal(percent(250), '250%', 'an out-of-range value is shown, only the bar is clamped')
  for (const value of hostile) t.equal(percent(value), '–')
})

t.test('bytes uses binary units and refuses negatives', async (t) => {
  t.equal(bytes(0), '0 B')
  t.equal(bytes(512), '512 B')
  t.equal(bytes(1536), '1.5 KiB')
  t.equal(bytes(150e6), '143 MiB')
  t.equal(bytes(8e9), '7.45 GiB')
  t.equal(bytes(1024 ** 4 * 12.5), '12.5 TiB')
  t.equal(bytes(1e308), `${(1e308 / 1024 ** 6).toFixed(0)} EiB`, 'huge values stop at the largest unit')
  t.equal(bytes(-1), '–')
  for (const value of hostile) t.equal(bytes(value), '–')
})

t.test('count and millis', async (t) => {
  t.equal(count(12345), '12,345')
  t.equal(count(2.6), '3')
  t.equal(count(-3), '–')
  t.equal(count(NaN), '–')
  t.equal(millis(0.42), '0.42 ms')
  t.equal(millis(1.5), '1.5 ms')
  t.equal(millis(12.3), '12 ms')
  t.equal(millis(2300), '2.3 s')
  t.equal(millis(45_000), '45 s')
  t.equal(millis(-1), '–')
  t.equal(millis(Infinity), '–')
})

t.test('duration shows the two largest units', async (t) => {
  t.equal(duration(0), '0s')
  t.equal(duration(7), '7s')
  t.equal(duration(302), '5m 2s')
  t.equal(duration(3600), '1h')
  t.equal(duration(3 * 86_400 + 4 * 3600 + 59), '3d 4h')
  t.equal(duration(86_400 + 30), '1d', 'a zero second unit is left out')
  t.equal(duration(1e12), `${Math.floor(1e12 / 86_400).toLocaleString('en-US')}d`)
  t.equal(duration(-5), 'unknown')
  for (const value of hostile) t.equal(duration(value), 'unknown')
})

t.test('ago', async (t) => {
  t.equal(ago(0), 'now')
  t.equal(ago(999), 'now')
  t.equal(ago(4000), '4 s ago')
  t.equal(ago(59_999), '59 s ago')
  t.equal(ago(3 * 60_000), '3 min ago')
  t.equal(ago(2 * 3600_000), '2 h ago')
  t.equal(ago(5 * 86_400_000), '5 d ago')
  t.equal(ago(-5000), 'now', 'an agent clock ahead of ours is not in the future')
  t.equal(ago(NaN), 'unknown')
})

t.test('span and the clock note: what is wrong with a timestamp, and by how much', async (t) => {
  t.equal(span(40_000), '40 s')
  t.equal(span(3 * 3_600_000 + 5), '3 h')
  t.equal(span(30 * 86_400_000), '30 d')
  t.equal(span(1e308), 'over a year')
  t.equal(span(-1), 'unknown')
  t.equal(span('5'), 'unknown')
  const seen = Date.UTC(2026, 10, 23, 12)
  t.equal(clockNote('seconds', Math.floor(seen / 1000), seen), 'Clock: the timestamp looks like seconds, not milliseconds; read as seconds')
  t.equal(clockNote('ahead', seen + 3 * 3_600_000, seen), "Clock: the timestamp is 3 h ahead of the console's")
  t.equal(clockNote('ahead', 1e308, seen), "Clock: the timestamp is over a year ahead of the console's")
  t.equal(clockNote('behind', seen - 30 * 86_400_000, seen), "Clock: the timestamp is 30 d behind the console's")
  t.equal(clockNote('behind', NaN, seen), "Clock: the timestamp is unknown behind the console's", 'a missing amount reads unknown, never throws')
  t.equal(clockNote(null, 0, seen), null, 'no note, no text')
  t.equal(clockNote('<script>', 0, seen), null, 'an unknown note is no text')
})

t.test('utcTime and isoTime', async (t) => {
  const at = Date.UTC(2026, 10, 23, 9, 5, 7)
  t.equal(utcTime(at, at + 60_000), '09:05:07 UTC', 'same day: time only')
  t.equal(utcTime(at, at + 86_400_000), '2026-11-23 09:05:07 UTC', 'another day: with the date')
  t.equal(utcTime(at), '2026-11-23 09:05:07 UTC')
  t.equal(isoTime(at), '2026-11-23T09:05:07.000Z')
  t.equal(utcTime(1e20), 'unknown', 'beyond what Date can hold')
  t.equal(isoTime(1e20), '')
  t.equal(utcTime(-1), 'unknown')
  t.equal(isoTime(NaN), '')
})

t.test('health', async (t) => {
  t.equal(healthLabel('fresh'), 'Fresh')
  t.equal(healthLabel('dead'), 'Dead')
  t.equal(healthLabel('__proto__'), 'unknown')
  t.equal(healthClass('stale'), 'stale')
  t.equal(healthClass('bogus'), 'dead', 'an unknown health never shows as healthy')
})

t.test('runtime only ever yields known keys', async (t) => {
  t.equal(runtime('node').key, 'node')
  t.equal(runtime('python').label, 'py')
  t.equal(runtime('"><script>').key, 'other')
  t.equal(runtime('constructor').key, 'other')
  t.equal(runtime(undefined).title, 'Other runtime')
})

t.test('cpu bar: the process share sits inside the system load', async (t) => {
  const cpu = cpuBar({ system: 40, process: 12.5, cores: 4 })
  t.match(cpu, { known: true, system: '40%', process: '13%', cores: 4, systemWidth: 40, processWidth: 12.5 })
  t.equal(cpuBar({ system: 10, process: 30 }).processWidth, 10, 'never wider than the system bar')
  t.match(cpuBar({ system: 1e308, process: -3 }), { systemWidth: 100, processWidth: 0 })
  t.match(cpuBar(undefined), { known: false, system: '–', systemWidth: 0, processWidth: 0, cores: null })
  t.match(cpuBar('nonsense'), { known: false })
})

t.test('memory bar: rss inside used, out of total', async (t) => {
  const gib = 1024 ** 3
  const mem = memoryBar({ system: { total: 8 * gib, free: 2 * gib, used: 6 * gib }, process: { rss: 2 * gib } })
  t.match(mem, { known: true, used: '6 GiB', total: '8 GiB', rss: '2 GiB', usedWidth: 75, rssWidth: 25, usedPercent: '75%' })
  t.equal(memoryBar({ system: { total: 8 * gib, free: 6 * gib } }).usedWidth, 25, 'used falls back to total − free')
  t.equal(memoryBar({ system: { total: 100, used: 500 } }).usedWidth, 100, 'clamped')
  t.match(memoryBar({ system: { total: 0, used: 5 }, process: { rss: 5 } }), { usedWidth: 0, rssWidth: 0 })
  t.match(memoryBar({ process: { rss: 10 } }), { known: true, rss: '10 B', total: '–', usedWidth: 0, rssWidth: 0 })
  t.match(memoryBar(null), { known: false })
})

t.test('disk bar', async (t) => {
  t.match(diskBar({ path: '/', total: 100, free: 40 }), { known: true, path: '/', freePercent: '40%', usedWidth: 60, low: false })
  t.match(diskBar({ path: '/', total: 100, free: 5 }), { low: true, usedWidth: 95 })
  t.match(diskBar({ total: 100, free: 500 }), { freePercent: '100%', usedWidth: 0 }, 'more free than total is clamped')
  t.match(diskBar({ total: 0, free: 0 }), { freePercent: '–', usedWidth: 0, low: false })
  t.match(diskBar({ total: 100 }), { known: false })
})

t.test('event loop and queues', async (t) => {
  t.match(eventLoop({ lagMs: 1.5, p99Ms: 12 }), { known: true, lag: '1.5 ms', p99: '12 ms' })
  t.match(eventLoop(undefined), { known: false, lag: '–' })
  const rows = queueRows([{ name: 'emails', driver: 'bullmq', metrics: { waiting: 3, active: null, failed: 2 } }, { name: 'x', metrics: {}, error: 'boom' }, 'not a queue'])
  t.match(rows[0], { name: 'emails', driver: 'bullmq', waiting: '3', active: '–', failed: '2', hasFailed: true, error: null })
  t.match(rows[1], { name: 'x', driver: '–', waiting: '–', hasFailed: false, error: 'boom' })
  t.match(rows[2], { name: 'unknown' })
  t.same(queueRows(undefined), [])
  t.same(queueRows({ length: 3 }), [])
})

t.test('fragmentUrl and nodeUrl encode their parts', async (t) => {
  t.equal(fragmentUrl({}), '/fragments/pulse/nodes')
  t.equal(fragmentUrl({ view: 'cards', page: 1 }), '/fragments/pulse/nodes', 'defaults are left out: one URL per view')
  t.equal(fragmentUrl({ service: 'billing' }), '/fragments/pulse/nodes?service=billing')
  t.equal(fragmentUrl({ service: 'a&b' }), '/fragments/pulse/nodes?service=a%26b')
  t.equal(
    fragmentUrl({ page: 3, view: 'table', health: ['stale', 'dead'], q: 'a b&c', service: 'api' }),
    '/fragments/pulse/nodes?service=api&q=a+b%26c&health=dead,stale&view=table&page=3',
    'one order, whatever the query',
  )
  t.equal(nodeUrl('billing', 'node-1'), '/pulse/billing/node-1')
  t.equal(nodeUrl('a/b', '?x'), '/pulse/a%2Fb/%3Fx')
})
