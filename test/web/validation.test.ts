/**
 * Request validation through the route schemas and the one error handler: a request that fails
 * them gets 400 shaped for who asked (JSON under /api/, a page for a browser, a banner alone for
 * htmx), whichever part was bad (query, path, body) and whichever area's route it reached; other
 * errors keep Fastify's own answer.
 */
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const app = await buildTestApp({ redisUrl: redisServer.url })
t.teardown(() => app.close())

const JSON_BODY = { 'content-type': 'application/json' }

/** [method, url, body]: bad input of every part, on routes of several areas */
const API_CASES: [string, string, unknown?][] = [
  ['GET', '/api/pulse/nodes?service=bad*name'],
  ['GET', '/api/pulse/slow?kind=query'],
  ['GET', '/api/problems?sort=sideways'],
  ['GET', '/api/pulse/alerts?service=a:b'],
  ['GET', '/api/pulse/queues/billing/em%0Aails/jobs'],
  ['GET', '/api/pulse/nodes/billing/node-1/history?range=1y'],
  ['GET', '/api/pulse/command/no*such'],
  ['POST', '/api/pulse/command', { service: 'bad name', nodeId: 'n', type: 'RETRY_JOB', queue: 'q', jobId: '1' }],
]

const PAGE_CASES = [
  '/pulse?service=bad*name',
  '/slow?kind=query',
  '/problems?sort=sideways',
  '/alerts?service=a:b',
  '/queues/billing/em%0Aails',
  '/pulse/billing/node-1?range=1y',
  '/commands/no*such',
  '/audit?service=a:b',
  '/queues?sort=sideways',
]

const FRAGMENT_CASES = [
  '/fragments/pulse/nodes?service=bad*name',
  '/slow/fragments/board?kind=query',
  '/problems/fragments/list?sort=sideways',
  '/alerts/fragments/board?service=a:b',
  '/queues/billing/em%0Aails/fragments/summary',
  '/commands/no*such/status',
  '/audit/fragments/log?service=a:b',
  '/fragments/queues/table?sort=sideways',
]

t.test('under /api/ a bad request is answered 400 as JSON, naming the field', async (t) => {
  for (const [method, url, body] of API_CASES) {
    const response = await app.inject({ method: method as 'GET' | 'POST', url, ...(body ? { headers: JSON_BODY, payload: JSON.stringify(body) } : {}) })
    t.equal(response.statusCode, 400, url)
    t.match(response.headers['content-type'], /^application\/json/, url)
    const json = response.json()
    t.equal(json.error, 'Bad Request', url)
    t.match(json.message, /^invalid (service|kind|sort|queue|range|id|nodeId): \S/, url)
  }
})

t.test('elsewhere a bad request is answered 400 as an HTML page in the layout', async (t) => {
  for (const url of PAGE_CASES) {
    const response = await app.inject({ url })
    t.equal(response.statusCode, 400, url)
    t.match(response.headers['content-type'], /^text\/html/, url)
    t.match(response.body, /^<!doctype html>/, `${url}: a whole page`)
    t.match(response.body, /<title>Bad request · Zenith<\/title>/, url)
    t.match(response.body, /<p class="banner banner-error" role="alert">invalid \w+: [^<]+<\/p>/, url)
  }
})

t.test('a bad fragment request from htmx gets the banner alone, to swap in place', async (t) => {
  for (const url of FRAGMENT_CASES) {
    const response = await app.inject({ url, headers: { 'hx-request': 'true' } })
    t.equal(response.statusCode, 400, url)
    t.match(response.headers['content-type'], /^text\/html/, url)
    t.notMatch(response.body, /<html|<title/, `${url}: no page around it`)
    t.match(response.body.trim(), /^<p class="banner banner-error" role="alert">invalid \w+: [^<]+<\/p>$/, url)
  }
})

t.test('valid input still reaches the handlers, parsed (defaults applied)', async (t) => {
  t.equal((await app.inject('/api/pulse/nodes?service=billing')).statusCode, 200)
  t.equal((await app.inject('/slow?kind=job')).statusCode, 200)
  // ?range= absent: the schema's default (1h) is what the handler gets
  const history = await app.inject('/api/pulse/queues/billing/emails/history')
  t.equal(history.statusCode, 404, 'no such queue: the handler ran with the parsed params and range')
})

t.test("errors other than validation keep Fastify's answer", async (t) => {
  const response = await app.inject({ method: 'POST', url: '/api/pulse/command', headers: JSON_BODY, payload: 'not json' })
  t.equal(response.statusCode, 400)
  t.equal(response.json().code, 'FST_ERR_CTP_INVALID_JSON_BODY')
  const page = await app.inject({ method: 'POST', url: '/commands/retry', headers: JSON_BODY, payload: '{' })
  t.equal(page.statusCode, 400)
  t.match(page.json().code, /^FST_ERR_CTP_/, 'even outside /api/: the body never reached validation')
})
