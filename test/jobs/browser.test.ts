/**
 * /jobs in a real browser (Debian's chromium through playwright-core) under the console's CSP:
 * type a search, page through the results with Older, open a job, and see its detail; all
 * without a script error. Real BullMQ queues and a real SQLite archive (fixture.ts).
 */
import t from 'tap'
import { cspViolations, launchBrowser, listenLocally, openPage, recordCspViolations, recordPageErrors } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildJobsWorld, SECRET } from './fixture.js'

const { server: redisServer } = await useRedis(t)
const world = await buildJobsWorld(t, redisServer.url, { archivedCount: 400 })
const base = await listenLocally(world.app)
const browser = await launchBrowser(t)

t.test('search, page, open a job', async (t) => {
  const page = await openPage(t, browser, { viewport: { width: 1280, height: 900 } })
  const errors = recordPageErrors(page)
  await recordCspViolations(page)
  await page.goto(`${base}/jobs?limit=10`)
  await page.click('nav.nav a:has-text("Jobs")')
  t.equal(new URL(page.url()).pathname, '/jobs', 'the navigation leads to the search')

  const query = 'service:billing queue:payments queue:retries'
  await page.fill('#job-search-q', query)
  await page.click('form.job-search button[type="submit"]')
  await page.waitForURL(/\/jobs\?q=/)
  t.equal(await page.inputValue('#job-search-q'), query, 'the form keeps the search')
  const expected = 15 + 1 + 8 // the live failed payments, the retried job, the other retries jobs
  const seen: string[] = []
  const firstPage = await page.locator('.job-table tbody tr').count()
  t.ok(firstPage > 0, 'the first page has rows')
  t.ok(await page.locator('.job-table tbody tr[data-origin="live"]').count(), 'live jobs are marked live')
  for (let pages = 0; pages < 20; pages++) {
    seen.push(...(await page.locator('.job-table a.job-link').evaluateAll((links) => links.map((link) => link.getAttribute('href')!))))
    const older = page.locator('nav.pager a[rel="next"]')
    if ((await older.count()) === 0) break
    await Promise.all([page.waitForURL(/cursor=/), older.click()])
  }
  t.equal(new Set(seen).size, seen.length, 'no job twice across pages')
  t.equal(seen.length, expected, 'every match, page by page')
  t.notOk((await page.content()).includes(SECRET), 'no payload in the results')

  await page.goto(`${base}${seen[0]!}`)
  await page.locator('h1.page-title').waitFor()
  t.match(await page.locator('h1.page-title').textContent(), /^Job /)
  t.match(await page.locator('.job-timeline').textContent(), /added/)
  t.ok(await page.locator('pre.job-data').isVisible(), 'the data is shown')
  t.ok(await page.locator('pre.job-stack').first().isVisible(), 'the stack trace is shown')
  t.same(await cspViolations(page), [])
  t.same(errors, [])
})

t.test('a bad query shows its message in the form', async (t) => {
  const page = await openPage(t, browser)
  const errors = recordPageErrors(page)
  await page.goto(`${base}/jobs`)
  await page.fill('#job-search-q', 'state:finished')
  await page.click('form.job-search button[type="submit"]')
  await page.locator('#job-search-error').waitFor()
  t.match(await page.locator('#job-search-error').textContent(), /state:finished is not a state/)
  t.equal(await page.getAttribute('#job-search-q', 'aria-invalid'), 'true')
  // the 422 answer itself is the browser's one console error; nothing else
  t.ok(
    errors.every((error) => /422/.test(error)),
    errors.join('\n'),
  )
})
