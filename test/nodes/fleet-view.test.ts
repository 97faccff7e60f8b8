/**
 * /pulse as a fleet view, through inject against a real Redis: fleets of several sizes and seeds,
 * written in shuffled orders, in every state. What is listed, in what order (problems first,
 * natural order), split into which pages, and what each filter and link selects, is checked
 * against rules written out in fleet-seed.ts, for cards and the table alike.
 */
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { rulesDir } from '../alerts/fixtures.js'
import { pollRegion } from './render.js'
import { CPU_RULE, idOf, listedNodes, listedServices, listingOrder, naturalOrder, planFleet, seedFleet, type SeededNode } from './fleet-seed.js'
import { PAGE_SIZE } from '../../server/nodes/fleet.js'

const { server: redisServer, redis } = await useRedis(t)

async function fleetApp(t: Test, nodes: readonly SeededNode[], seed: number) {
  await redis.flushall()
  const files = rulesDir()
  t.teardown(() => files.remove())
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: files.write('rules.json', CPU_RULE) })
  t.teardown(() => app.close())
  await seedFleet(redis, app, clock, nodes, seed)
  return app
}

const html = async (app: FastifyInstance, url: string) => {
  const response = await app.inject(url)
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body.slice(0, 200)}`)
  return response.body
}

/** Every page of a listing, following its "next" links from the first page: what a person clicking through sees. */
async function walkPages(app: FastifyInstance, first: string) {
  const pages: string[] = []
  let url: string | undefined = first
  while (url) {
    const body = await html(app, url)
    pages.push(body)
    url = /<a href="([^"]+)" rel="next">/.exec(body)?.[1]?.replaceAll('&amp;', '&')
    if (pages.length > 500) throw new Error('the pages never end')
  }
  return pages
}

const matchesSearch = (node: SeededNode, q: string) => [node.service, node.nodeId, node.hostname, node.appVersion, '20.20.2'].some((field) => field.toLowerCase().includes(q.toLowerCase()))

for (const seed of [1, 2, 3]) {
  t.test(`seed ${seed}: a fleet larger than a page lists its problems, then one row per service, paged`, async (t) => {
    const fleet = planFleet({ nodes: 170 + seed * 5, services: 14, seed, problems: 0.12 })
    const app = await fleetApp(t, fleet, seed)
    const problems = fleet.filter((node) => node.state !== 'fresh').sort(listingOrder)
    const services = [...new Set(fleet.map((node) => node.service))].sort(naturalOrder)
    t.ok(problems.length > PAGE_SIZE.cards, `more problems (${problems.length}) than one page holds`)

    const pages = await walkPages(app, '/pulse')
    t.equal(pages.length, Math.ceil((problems.length + services.length) / PAGE_SIZE.cards), 'as many pages as the entries need')
    for (const [i, page] of pages.entries()) {
      t.ok(listedNodes(page).length + listedServices(page).length <= PAGE_SIZE.cards, `page ${i + 1} holds at most a page of entries`)
    }
    t.same(pages.flatMap(listedNodes), problems.map(idOf), 'dead, stale, alerting; each by service then node, naturally; every problem once')
    t.same(pages.flatMap(listedServices), services, 'every service once, in natural order')
    t.match(pages[0], '<h2 class="fleet-title" id="fleet-nodes-title">Needs attention</h2>')

    // the table is denser: the whole fleet fits on its first page, so it lists every node
    const table = await html(app, '/pulse?view=table')
    t.same(listedNodes(table), [...fleet].sort(listingOrder).map(idOf), 'the table lists the whole fleet, problems first')
    t.same(listedServices(table), [], 'no collapsed rows when everything is listed')
    t.match(table, '<table class="fleet-table node-table">')
  })

  t.test(`seed ${seed}: search, health filters and the summary's links select the right nodes`, async (t) => {
    const fleet = planFleet({ nodes: 90, services: 12, seed: seed + 10, problems: 0.08 })
    const app = await fleetApp(t, fleet, seed)
    const expect = (select: (node: SeededNode) => boolean) => fleet.filter(select).sort(listingOrder).map(idOf)
    const listed = async (url: string) => (await walkPages(app, url)).flatMap(listedNodes)

    for (const q of ['vm', 'WORKER', 'svc-1', 'rc', '1.3.', 'example', 'nothing-like-this']) {
      t.same(
        await listed(`/pulse?q=${encodeURIComponent(q)}`),
        expect((node) => matchesSearch(node, q)),
        `?q=${q}: service, node, host or version, any case`,
      )
    }
    t.same(
      await listed('/pulse?health=dead,stale'),
      expect((node) => node.state === 'dead' || node.state === 'stale'),
      '?health=dead,stale',
    )
    t.same(
      await listed('/pulse?health=alerting'),
      expect((node) => node.state === 'alerting'),
      '?health=alerting: nodes with a firing alert',
    )
    t.same(
      await listed('/pulse?health=fresh&view=table'),
      expect((node) => node.state === 'fresh' || node.state === 'alerting'),
      'fresh includes alerting nodes, which still beat',
    )
    t.same(
      await listed('/pulse?q=web&health=dead'),
      expect((node) => node.state === 'dead' && matchesSearch(node, 'web')),
      'filters combine',
    )
    const service = fleet[0]!.service
    t.same(
      await listed(`/pulse?service=${service}`),
      expect((node) => node.service === service),
      '?service= opens one service',
    )

    const page = await html(app, '/pulse')
    for (const [health, select] of [
      ['dead', (node: SeededNode) => node.state === 'dead'],
      ['stale', (node: SeededNode) => node.state === 'stale'],
      ['alerting', (node: SeededNode) => node.state === 'alerting'],
    ] as const) {
      const count = fleet.filter(select).length
      t.match(page, `<a class="summary-link" href="/pulse?health=${health}"><b>${count}</b> ${health}</a>`, `the ${health} count links to its view`)
      t.same(await listed(`/pulse?health=${health}`), expect(select))
    }
    t.match(page, `<a class="summary-link" href="/pulse"><b>${new Set(fleet.map((n) => n.service)).size}</b> services</a>`)
  })
}

t.test('a poll carries its page query: same markup as the page, one cached render per normalized query', async (t) => {
  const fleet = planFleet({ nodes: 200, services: 9, seed: 7, problems: 0.15 })
  const app = await fleetApp(t, fleet, 7)
  for (const query of ['', '?page=2', '?q=vm&view=table', '?health=dead,stale&page=2', '?service=svc-3&health=fresh']) {
    const page = await html(app, `/pulse${query}`)
    const polled = /<div id="pulse-nodes" class="pulse-nodes" hx-get="([^"]+)"/.exec(page)![1]!.replaceAll('&amp;', '&')
    t.equal(polled, `/fragments/pulse/nodes${query}`, `${query || 'no query'}: the poll asks for the same view`)
    t.equal(await html(app, polled), pollRegion(page), `${query || 'no query'}: the poll's markup is the page's region`)
  }
  // a form's checkboxes write health=stale&health=dead; a link writes health=dead,stale: one view, one render
  const fromForm = await app.inject('/fragments/pulse/nodes?health=stale&health=dead&view=cards&page=1')
  const fromLink = await app.inject('/fragments/pulse/nodes?health=dead,stale')
  t.equal(fromForm.body, fromLink.body)
  t.equal(fromForm.headers.etag, fromLink.headers.etag)
  const again = await app.inject({ url: '/fragments/pulse/nodes?health=dead,stale', headers: { 'if-none-match': fromLink.headers.etag as string } })
  t.equal(again.statusCode, 304, 'an unchanged view answers 304 between ticks')

  for (const bad of ['?health=sick', '?view=grid', '?page=0', '?page=x', `?q=${'x'.repeat(101)}`, '?service=a:b']) {
    t.equal((await app.inject(`/pulse${bad}`)).statusCode, 400, `${bad} is refused`)
  }
  const last = await html(app, '/pulse?page=999')
  t.match(last, 'aria-current="page">', 'a page past the end shows the last page')
  t.ok(listedServices(last).length > 0, 'the last page holds the last service rows')
})

t.test('cards lead with the node id where hostnames repeat on the page', async (t) => {
  const fleet = planFleet({ nodes: 24, services: 3, seed: 5, problems: 0 })
  const app = await fleetApp(t, fleet, 5)
  const page = await html(app, '/pulse')
  const titles = [...page.matchAll(/id="node:([^"]+)"[\s\S]*?<h3 class="node-host" title="[^"]*"><a href="[^"]+">([^<]+)<\/a><\/h3>/g)].map((m) => [m[1], m[2]])
  t.equal(titles.length, fleet.length)
  const byId = new Map(fleet.map((node) => [idOf(node), node]))
  for (const [id, title] of titles) {
    const node = byId.get(id!)!
    t.equal(title, node.hostname === 'vm' ? node.nodeId : node.hostname, `${id}: ${node.hostname === 'vm' ? 'the id, its host "vm" repeats' : 'its own hostname'}`)
  }
})
