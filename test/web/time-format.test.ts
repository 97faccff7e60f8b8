/**
 * One time format: every absolute time a page prints sits in a `<time datetime>` element, so the
 * page script shows it in the viewer's local time (with UTC on hover), the way the charts label
 * their axes. A time printed as bare "12:00:00 UTC" text would stay UTC beside local charts.
 * Checked on every page of a realistic fleet: nodes, a node page, queues, a queue page with failed
 * jobs, slow entries, alerts firing, problems and an audit entry.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { rulesDir } from '../alerts/fixtures.js'
import { TOKEN } from '../commands/signed.js'
import { ALERT_RULES, FLEET_NODE_COUNT, HOT_NODE_PAGE, keepFleetBeating, startQueuesAndAudit, writeSlowEntries } from './seeded-fleet.js'

const { server: redisServer, redis } = await useRedis(t)
const files = rulesDir()
t.teardown(() => files.remove())

const CLOCK_TEXT = /\d{2}:\d{2}:\d{2} UTC/g

/** Clock times left in the page's text once every `<time datetime>` element is taken out. */
function bareTimes(html: string): string[] {
  const text = html.replace(/<time datetime="[^"]+"[^>]*>[^<]*<\/time>/g, '').replace(/<[^>]*>/g, ' ')
  return [...text.matchAll(CLOCK_TEXT)].map((m) => m[0])
}

t.test('every page prints its times in <time datetime> elements', async (t) => {
  await redis.flushall()
  const alertsFile = files.write('rules.json', ALERT_RULES)
  const app = await buildTestApp({ redisUrl: redisServer.url, autoStart: true, tickMs: 200, quasarToken: TOKEN, alertsFile })
  t.teardown(() => app.close())
  const stop = keepFleetBeating(redis)
  t.teardown(stop)
  await writeSlowEntries(redis)
  const queuePage = await startQueuesAndAudit(t, app, redisServer.url)
  await eventually(async () => {
    const nodes = (await app.inject('/api/pulse/nodes')).json() as { services: { nodes: unknown[] }[] }
    const alerts = (await app.inject('/api/pulse/alerts')).json() as { firing: unknown[] }
    return nodes.services.reduce((sum, s) => sum + s.nodes.length, 0) >= FLEET_NODE_COUNT && alerts.firing.length > 0
  }, 'the whole fleet in the snapshot, an alert firing')

  let timed = 0
  for (const url of ['/pulse', '/pulse?view=table', HOT_NODE_PAGE, '/queues', queuePage, '/slow', '/alerts', '/problems', '/audit']) {
    const page = await app.inject(url)
    t.equal(page.statusCode, 200, `${url} answers`)
    t.same(bareTimes(page.body), [], `${url}: no clock time outside a <time datetime> element`)
    timed += [...page.body.matchAll(/<time datetime="[^"]+"[^>]*>[^<]*UTC<\/time>/g)].length
  }
  // the pages do print absolute times: the check above is not satisfied by pages printing none
  t.ok(timed > 5, `absolute times found in <time> elements (${timed})`)
})
