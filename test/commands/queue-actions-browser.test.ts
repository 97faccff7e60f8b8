/**
 * Queue-wide actions in a real browser (Debian's chromium through playwright-core) under the
 * console's CSP, against a listening console, a real agent and a real BullMQ queue whose jobs
 * really failed: the confirmation outlives the failed-jobs polls (the page's clock is driven past
 * two of them), and a double click on it sends one command.
 */
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { cspViolations, launchBrowser, listenLocally, openPage, recordCspViolations, recordPageErrors } from '../helpers/browser.js'
import { startRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { sentActions, startConsole, startWorker, waitForFailed, type Worker } from './fixture.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const browser = await launchBrowser(t)

async function listening(t: Test): Promise<{ app: FastifyInstance; base: string }> {
  const app = await startConsole(t, { redisUrl: redisServer.url, autoStart: true, tickMs: 200 })
  return { app, base: await listenLocally(app) }
}

async function queuePage(t: Test, base: string, worker: Worker) {
  const page = await openPage(t, browser, { viewport: { width: 1280, height: 900 } })
  const errors = recordPageErrors(page)
  await recordCspViolations(page)
  // the page's timers run on a clock the test moves, so "after two polls" needs no waiting
  await page.clock.install()
  const polls: string[] = []
  page.on('response', (response) => {
    if (response.url().includes('/fragments/failed')) polls.push(response.url())
  })
  const posts: string[] = []
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().endsWith('/commands/queue-action')) posts.push(request.url())
  })
  await page.goto(`${base}/queues/${worker.service}/${worker.name}`)
  await page.waitForFunction(() => 'htmx' in window)
  return { page, errors, polls, posts }
}

t.test('the confirmation survives two polls of the failed jobs, with the exact count', async (t) => {
  const { app, base } = await listening(t)
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'wide-browser-1', failures: 30, failedPageSize: 5 })
  await waitForFailed(app, worker, 5)
  const { page, errors, polls } = await queuePage(t, base, worker)

  await page.click('.queue-actions button:has-text("Retry all failed")')
  const confirmation = page.locator('.queue-action-confirm')
  await confirmation.waitFor()
  const key = await confirmation.getAttribute('data-confirmation')
  t.match(await confirmation.locator('p').textContent(), /Retry all 30 failed jobs of/, "the queue's count, not the 5 listed")

  const before = polls.length
  for (let poll = 1; poll <= 2; poll++) {
    await page.clock.runFor(5_500)
    await eventually(() => polls.length >= before + poll, `poll ${poll} of the failed jobs answered`)
  }
  // a swap may land just after its response: wait until the region settled
  await page.waitForFunction(() => !document.querySelector('#failed-jobs.htmx-request, #failed-jobs .htmx-swapping'))
  t.equal(await confirmation.count(), 1, 'the confirmation is still there after two polls')
  t.equal((await confirmation.count()) === 1 ? await confirmation.getAttribute('data-confirmation') : null, key, 'the same confirmation, not a new one')
  t.equal(await page.locator('#failed-jobs .queue-actions button').count(), 2, 'the polled region still has its buttons')
  t.same(await cspViolations(page), [])
  t.same(errors, [])
})

t.test('a double click on the confirmation sends one command', async (t) => {
  const { app, base } = await listening(t)
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'wide-browser-2', failures: 12 })
  await waitForFailed(app, worker, 12)
  const { page, errors, posts } = await queuePage(t, base, worker)

  await page.click('.queue-actions button:has-text("Delete all failed")')
  await page.locator('.queue-action-confirm').waitFor()
  t.match(await page.locator('.queue-action-confirm p').textContent(), /Delete all 12 failed jobs of .*This cannot be undone/)
  await page.dblclick('.queue-action-confirm button[type="submit"]')
  await page.locator('#queue-action-panel .command-status').first().waitFor()
  await page.clock.runFor(2_500)
  await eventually(async () => {
    await page.clock.runFor(2_500)
    return (await page.locator('#queue-action-panel .command-status[data-status="ok"]').count()) === 1
  }, 'the command ended ok')
  t.equal(posts.length, 2, 'both clicks posted: the console is what keeps it to one')
  t.equal((await sentActions(app.redis, app.keys.commandStream(worker.service, worker.nodeId))).length, 1, 'one command sent')
  t.equal(await page.locator('#queue-action-panel .command-status').count(), 1, 'one status shown')
  t.match(await page.locator('#queue-action-panel .command-status').textContent(), /Deleted all failed[\s\S]*12 of 12 done/)
  t.equal(await worker.queue.queue.getFailedCount(), 0, 'all 12 deleted')
  t.same(await cspViolations(page), [])
  t.same(errors, [])
})
