/**
 * In a real browser, with ZENITH_API_TOKEN set on a console without a login: the node page's
 * charts draw (no "HTTP 401" in the chart region), and times read alike everywhere. In a zone other
 * than UTC and in two locales (am/pm and 24 h), a slow table's time cell and the chart's x axis
 * labels are both in the viewer's local time and the same clock style, the cell keeps its UTC
 * time as the title, and a poll's swap does not bring the UTC text back.
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { createKeys } from '@gravito/quasar/protocol'
import { launchBrowser, listenLocally, openPage, recordPageErrors } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { beat } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)
const TOKEN = 'tok_0123456789abcdef0123'

// half an hour of history up to now, recorded by a console on a fake clock
const seedClock = fakeClock(Date.now() - 30 * 60_000)
const seeder = await buildTestApp({ redisUrl: redisServer.url, clock: seedClock })
for (let i = 0; i < 180; i++) {
  await beat(redis, seedClock(), { cpu: 20 + (i % 30) })
  await seeder.collector.refresh()
  seedClock.advance(10_000)
}
await seeder.close()
const slowAt = Date.now() - 7 * 60_000
await redis.xadd(createKeys().slow('billing'), '*', 'kind', 'request', 'name', 'GET /report', 'durationMs', '1830', 'timestamp', String(slowAt), 'nodeId', 'node-1', 'status', '502')

const app: FastifyInstance = await buildTestApp({ redisUrl: redisServer.url, autoStart: true, tickMs: 200, apiToken: TOKEN })
t.teardown(() => app.close())
const beating = setInterval(() => void beat(redis, Date.now(), { cpu: 35 }).catch(() => {}), 500)
t.teardown(() => clearInterval(beating))
const base = await listenLocally(app)
const browser = await launchBrowser(t)

/** how the viewer's browser should show `ms`: its zone, its locale, the date only on another day */
function localTime(ms: number, locale: string, timeZone: string): string {
  const clock = { hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone } as const
  const day = (at: number) => new Intl.DateTimeFormat(locale, { year: 'numeric', month: '2-digit', day: '2-digit', timeZone }).format(at)
  if (day(ms) === day(Date.now())) return new Intl.DateTimeFormat(locale, clock).format(ms)
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: '2-digit', day: '2-digit', ...clock }).format(ms)
}

/** the hours (as the locale writes them) of the last hour in that zone: chart ticks fall in them */
function recentHours(locale: string, timeZone: string): Set<string> {
  const hour = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone })
  const hours = new Set<string>()
  for (let back = 0; back <= 60; back += 5) hours.add(hour.format(Date.now() - back * 60_000).slice(0, 2))
  return hours
}

for (const [locale, timeZone, twelveHour] of [
  ['en-US', 'America/New_York', true],
  ['en-GB', 'Asia/Kolkata', false],
] as const) {
  t.test(`${locale} in ${timeZone}: charts load with the page's authorisation; table and chart times agree`, async (t) => {
    const page = await openPage(t, browser, { viewport: { width: 1280, height: 900 }, locale, timezoneId: timeZone })
    const problems = recordPageErrors(page)

    const response = await page.goto(`${base}/pulse/billing/node-1`)
    t.equal(response?.status(), 200, 'the page opens without a login')
    // drawn, or given up with a reason: whichever comes first
    await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length >= 4 || /Could not load/.test(document.querySelector('.charts')?.textContent ?? ''))
    const region = await page.locator('.charts').innerText()
    t.notMatch(region, /HTTP 401|Could not load/, 'no error in the chart region')
    await page.locator('.chart canvas').nth(3).waitFor()
    const labels = (await page.locator('figure.chart').first().getAttribute('data-x-labels'))!.split(' | ').filter(Boolean)
    t.ok(labels.length >= 2, `x axis labels: ${labels.join(', ')}`)
    const hours = recentHours(locale, timeZone)
    for (const label of labels) {
      t.match(label, twelveHour ? /^\d{2}:\d{2}\s?(AM|PM)$/i : /^\d{2}:\d{2}$/, `axis label ${label} in the locale's clock`)
      t.ok(hours.has(label.slice(0, 2)), `axis label ${label} in ${timeZone} time (hours ${[...hours].join(', ')})`)
    }

    await page.goto(`${base}/slow?range=1h`)
    const cell = page.locator('#slow-latest-title ~ .table-scroll time').first()
    const expected = localTime(slowAt, locale, timeZone)
    await t.resolves(cell.filter({ hasText: expected }).waitFor({ timeout: 5_000 }), `the cell reads ${expected}`)
    t.equal(await cell.getAttribute('title'), `${new Date(slowAt).toISOString().slice(0, 10)} ${new Date(slowAt).toISOString().slice(11, 19)} UTC`, 'UTC on hover')
    t.equal(/AM|PM/i.test(expected), twelveHour, 'the table uses the same clock style as the chart')
    // the board polls every 5 s and morphs the server's UTC text back in; it is localised again
    await page.evaluate(() => new Promise((resolve) => document.addEventListener('htmx:after:swap', resolve, { once: true })))
    t.equal(await cell.innerText(), expected, 'still local after a poll')
    t.same(problems, [], 'no page errors')
  })
}
