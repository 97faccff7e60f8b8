/**
 * Names are agent data, and every one of them gets a link: a service, a node or a queue named like
 * a fixed segment of any route (`fragments`, `nodes`, `api`, ...), `.` or `..`, or holding `/ % ? #`,
 * spaces or unicode, must lead to the page of that very name and to no other route. The routes come
 * from onRoute (a route added later is covered the day it is added); each link is built with the
 * URL builders and resolved as a browser resolves an href before requesting it (dot segments
 * removed), and the route that answered, with the parameters it read, is recorded by a hook.
 */
import t from 'tap'
import Fastify, { type RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { isValidName } from '@gravito/quasar/protocol'
import zenith from '../../server/app.js'
import { parseConfig } from '../../server/config.js'
import { MAX_PARAM_LENGTH, nameFromSegment, nameSegment, nodeApiUrl, nodeUrl, queueApiUrl, queueUrl } from '../../server/http/urls.js'
import { useRedis } from '../helpers/redis-server.js'
import { fakeClock } from '../helpers/app.js'
import { beat, writeSnapshot } from '../queues/helpers.js'

const { server: redisServer, redis } = await useRedis(t)
const clock = fakeClock()

const routes: RouteOptions[] = []
/** the route that answered the last request, and the parameters its handler read */
let answered: { route: string | undefined; params: Record<string, unknown> } = { route: undefined, params: {} }
const app = Fastify({ logger: false, routerOptions: { maxParamLength: MAX_PARAM_LENGTH } })
app.addHook('onRoute', (route) => void routes.push(route))
await app.register(
  fp(async (scope) => {
    // before the app's own plugins, so every route the app registers inherits it
    scope.addHook('onResponse', async (request) => {
      answered = { route: request.routeOptions.url, params: { ...(request.params as Record<string, unknown>) } }
    })
    const config = parseConfig({ selfMonitor: false, logLevel: 'silent' })
    await zenith(scope, { config: { ...config, redisUrl: redisServer.url }, clock, autoStart: false })
  }),
)
await app.ready()
t.teardown(() => app.close())

/** Every fixed segment of every route: each is a name some agent may well use. */
const staticSegments = [...new Set(routes.flatMap((route) => route.url.split('/')).filter((part) => part !== '' && !part.startsWith(':') && !part.includes('*')))]
/** names the protocol's rule lets through for services and nodes */
const ruleNames = [...new Set(['billing', '.', '..', '...', '-', '_', '.-', ...staticSegments])].filter((name) => isValidName(name))
/** queue names may hold anything but control characters: these only a queue can have */
const queueOnlyNames = ['~.', '~..', '~~..', '%2E%2E', '.%2e', '%', '%25', 'a/b', '/', '../..', '..%2F', '\\..', '?x=1', '#top', 'a b', ' ..', '.. ', 'été 🚀', '<b>x</b>']
const queueNames = [...ruleNames, ...queueOnlyNames]

/** What a browser requests for an href on one of the console's pages. */
function requested(href: string): string {
  const url = new URL(href, 'http://console.test/pulse')
  return url.pathname + url.search
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

// some of the hostile names are live, so their pages answer 200; the others answer "not found"
const KNOWN_NODES: Array<[string, string]> = [
  ['fragments', 'nodes'],
  ['..', '..'],
  ['.', 'api'],
  ['billing', '..'],
  ['pulse', 'fragments'],
  ['api', '.'],
]
const KNOWN_QUEUES: Array<[string, string[]]> = [
  ['fragments', ['table', '..', '.', '~..', 'a/b', 'été 🚀']],
  ['..', ['fragments', '..', '%2E%2E']],
  ['queues', ['queues', 'table']],
]
for (const [service, nodeId] of KNOWN_NODES) await beat(redis, service, nodeId, clock())
for (const [service, names] of KNOWN_QUEUES) {
  await writeSnapshot(redis, service, { timestamp: clock(), nodeId: 'worker-1', queues: names.map((name) => ({ name, driver: 'bullmq', metrics: { waiting: 1, active: 0, failed: 0 } })) })
}
await app.collector.refresh()
await app.collector.refresh()

/** Requests a link as a browser would; notes it in `wrong` unless that route answered with exactly these names. */
async function expectRoute(href: string, route: string, params: Record<string, string>, wrong: string[]) {
  await app.inject(requested(href))
  if (answered.route !== route || JSON.stringify(answered.params) !== JSON.stringify(params)) {
    wrong.push(`${href}: ${answered.route} ${JSON.stringify(answered.params)}`)
  }
}

const isKnownNode = (service: string, nodeId: string) => KNOWN_NODES.some(([s, n]) => s === service && n === nodeId)
const isKnownQueue = (service: string, name: string) => KNOWN_QUEUES.some(([s, names]) => s === service && names.includes(name))

t.test('the hostile names include every fixed segment of every route', async (t) => {
  t.ok(routes.length >= 50, `${routes.length} routes`)
  t.comment(`names tried: ${ruleNames.join(' ')}`)
  for (const segment of ['fragments', 'nodes', 'table', 'api', 'pulse', 'queues', 'history', 'details']) t.ok(staticSegments.includes(segment), segment)
})

t.test('nameSegment: a bare dot segment is never produced, and every name reads back', async (t) => {
  for (const name of queueNames) {
    const segment = nameSegment(name)
    t.notOk(/^(\.|%2e){1,2}$/i.test(segment), `${JSON.stringify(name)} as ${segment}`)
    t.equal(nameFromSegment(decodeURIComponent(segment)), name, `${JSON.stringify(name)} round-trips`)
  }
  t.equal(nameSegment('..'), '~..')
  t.equal(nameSegment('~..'), '~~..', 'a name that looks escaped is escaped once more')
  t.equal(nameSegment('...'), '...', 'three dots are no dot segment and stay as they are')
})

t.test('every service and node name pair reaches its own node page, fragment and history', async (t) => {
  let pages = 0
  let known = 0
  const wrong: string[] = []
  for (const service of ruleNames) {
    for (const nodeId of ruleNames) {
      const label = `${JSON.stringify(service)} / ${JSON.stringify(nodeId)}`
      const page = await app.inject(requested(nodeUrl(service, nodeId)))
      if (answered.route !== '/pulse/:service/:nodeId' || answered.params.service !== service || answered.params.nodeId !== nodeId) {
        t.fail(`${label}: page answered by ${answered.route} with ${JSON.stringify(answered.params)}`)
        continue
      }
      const expected = isKnownNode(service, nodeId) ? 200 : 404
      if (page.statusCode !== expected || !page.body.includes(`<h1 class="page-title">${escapeHtml(nodeId)}</h1>`)) {
        t.fail(`${label}: ${page.statusCode}, not the page of that node`)
        continue
      }
      if (expected === 200) known++
      pages++

      await expectRoute(`${nodeUrl(service, nodeId)}/fragments/details`, '/pulse/:service/:nodeId/fragments/details', { service, nodeId }, wrong)
      await expectRoute(`${nodeApiUrl(service, nodeId)}/history?range=1h`, '/api/pulse/nodes/:service/:nodeId/history', { service, nodeId }, wrong)
    }
  }
  t.same(wrong, [], 'every fragment and API link of every node reached its own route')
  t.equal(pages, ruleNames.length ** 2, `${pages} node pages, each of its own name`)
  t.equal(known, KNOWN_NODES.length, 'every live node among them answered 200')
})

t.test('every service and queue name pair reaches its own queue page, fragments and API', async (t) => {
  let pages = 0
  let known = 0
  const wrong: string[] = []
  for (const service of ruleNames) {
    for (const name of queueNames) {
      // names only a queue can have differ from the route segments in encoding, not in spelling:
      // a few services are enough for them
      if (queueOnlyNames.includes(name) && !['billing', '..', 'fragments'].includes(service)) continue
      const label = `${JSON.stringify(service)} / ${JSON.stringify(name)}`
      const page = await app.inject(requested(queueUrl(service, name)))
      if (answered.route !== '/queues/:service/:queue' || answered.params.service !== service || answered.params.queue !== name) {
        t.fail(`${label}: page answered by ${answered.route} with ${JSON.stringify(answered.params)}`)
        continue
      }
      const expected = isKnownQueue(service, name) ? 200 : 404
      if (page.statusCode !== expected || !page.body.includes(`<h1 class="page-title">${escapeHtml(name)}</h1>`)) {
        t.fail(`${label}: ${page.statusCode}, not the page of that queue`)
        continue
      }
      if (expected === 200) known++
      pages++

      const params = { service, queue: name }
      await expectRoute(`${queueUrl(service, name)}/fragments/summary`, '/queues/:service/:queue/fragments/summary', params, wrong)
      await expectRoute(`${queueUrl(service, name)}/fragments/failed`, '/queues/:service/:queue/fragments/failed', params, wrong)
      await expectRoute(`${queueApiUrl(service, name)}/jobs?state=failed`, '/api/pulse/queues/:service/:queue/jobs', params, wrong)
      await expectRoute(`${queueApiUrl(service, name)}/history?range=1h`, '/api/pulse/queues/:service/:queue/history', params, wrong)
    }
  }
  t.same(wrong, [], 'every fragment and API link of every queue reached its own route')
  t.equal(pages, ruleNames.length ** 2 + 3 * queueOnlyNames.length, `${pages} queue pages, each of its own name`)
  t.equal(known, KNOWN_QUEUES.flatMap(([, names]) => names).length, 'every live queue among them answered 200')
})

t.test('the live hostile names are linked from the lists, and the links lead to them', async (t) => {
  const pulse = await app.inject('/pulse')
  for (const [service, nodeId] of KNOWN_NODES) {
    t.ok(pulse.body.includes(`href="${nodeUrl(service, nodeId)}"`), `/pulse links ${service}/${nodeId}`)
  }
  const queues = await app.inject('/queues')
  for (const [service, names] of KNOWN_QUEUES) {
    for (const name of names) t.ok(queues.body.includes(`href="${escapeHtml(queueUrl(service, name))}"`), `/queues links ${service}/${name}`)
  }
})
