/**
 * The queue page's Jobs region in a real browser: state tabs with their counts, a pager that
 * walks the pages (htmx swaps the region; the URL of each link also works without JavaScript),
 * rows linking to each job's detail page, under the console's strict CSP.
 */
import t from 'tap'
import { Queue } from 'bullmq'
import { cspViolations, launchBrowser, listenLocally, openPage, recordCspViolations } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'

const { server: redisServer, redis } = await useRedis(t)
const browser = await launchBrowser(t)

t.test('tabs and pager of a queue with 120 waiting and 7 delayed jobs', async (t) => {
  await redis.flushall()
  const queue = new Queue('mail', { connection: { url: redisServer.url } })
  t.teardown(() => queue.close())
  await queue.addBulk(Array.from({ length: 120 }, (_, i) => ({ name: `send <${i}>`, data: { secret: 'never on a list' } })))
  await queue.addBulk(Array.from({ length: 7 }, (_, i) => ({ name: `later-${i}`, data: {}, opts: { delay: 3_600_000 } })))
  const newest = (await queue.getJobs(['wait'], 0, 0))[0]!

  const app = await buildTestApp({ redisUrl: redisServer.url, autoStart: true, tickMs: 200 })
  t.teardown(() => app.close())
  const base = await listenLocally(app)
  await eventually(async () => (await app.inject('/api/pulse/queues')).json().queues.length === 1, 'queue discovered')

  const page = await openPage(t, browser)
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  const failed: string[] = []
  page.on('response', (response) => {
    if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`)
  })
  await recordCspViolations(page)
  await page.goto(`${base}/queues/bull/mail`)
  await page.waitForFunction(() => 'htmx' in window)

  const region = page.locator('#jobs')
  t.equal(await region.getAttribute('data-state'), 'waiting', 'waiting jobs first')
  t.match(await region.locator('.job-tab.is-current').textContent(), /Waiting\s+120/, 'the current tab counts its jobs')
  t.match(await region.locator('.job-tab', { hasText: 'Delayed' }).textContent(), /Delayed\s+7/)
  t.equal(await region.locator('.job-row').count(), 50, 'one page of rows')
  t.equal(await region.locator('.job-row').first().locator('td').nth(1).textContent(), newest.name, 'newest first, the name shown as text')
  t.equal(await region.locator('.job-link').first().getAttribute('href'), `/jobs/bull/mail/${newest.id}`, 'each row links to its job')
  t.notMatch(await region.innerHTML(), /never on a list/, 'no payload on the list')
  t.match(await region.locator('.job-range').textContent(), /1–50 of 120 · page 1 of 3/)

  await region.getByRole('link', { name: 'Older' }).click()
  await eventually(async () => (await page.locator('#jobs').getAttribute('data-page')) === '2', 'the pager swapped in page 2')
  t.match(await page.locator('#jobs .job-range').textContent(), /51–100 of 120 · page 2 of 3/)
  t.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/queues/bull/mail', 'htmx swapped the region, the page stayed')
  await page.locator('#jobs').getByRole('link', { name: 'Older' }).click()
  await eventually(async () => (await page.locator('#jobs').getAttribute('data-page')) === '3', 'page 3')
  t.equal(await page.locator('#jobs .job-row').count(), 20, 'the last page holds the rest')
  t.equal(await page.locator('#jobs').getByRole('link', { name: 'Older' }).count(), 0, 'no page after the last')

  await page.locator('#jobs .job-tab', { hasText: 'Delayed' }).click()
  await eventually(async () => (await page.locator('#jobs').getAttribute('data-state')) === 'delayed', 'the delayed tab swapped in')
  t.equal(await page.locator('#jobs .job-row').count(), 7)
  t.equal(await page.locator('#jobs').getAttribute('data-page'), '1', 'a tab opens its first page')
  // the region polls the state it shows, not the one it was first rendered with
  await page.waitForResponse((response) => response.url().includes('/fragments/jobs?state=delayed'))
  t.equal(await page.locator('#jobs').getAttribute('data-state'), 'delayed')

  t.same(errors, [], 'no script error')
  t.same(failed, [], 'every request of the page and its polls answered')
  t.same(await cspViolations(page), [])

  // without JavaScript, the same links reload the page on that state and page
  const plain = await app.inject('/queues/bull/mail?jobs=waiting&jobsPage=3')
  t.equal(plain.statusCode, 200)
  t.match(plain.body, /data-state="waiting" data-page="3"/)
  t.match(plain.body, /href="\/queues\/bull\/mail\?jobs=waiting&amp;jobsPage=2#jobs"/, 'the pager links work without htmx')
})
