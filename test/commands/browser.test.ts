/**
 * The command buttons in a real browser (Debian's chromium through playwright-core) under the
 * console's CSP, against a listening console, a real agent and a real BullMQ queue whose jobs
 * really failed: Retry shows pending, then ok; Delete asks first; "retry all" confirms in the action panel;
 * without JavaScript the same buttons work through plain forms.
 */
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import type { FastifyInstance } from 'fastify'
import { cspViolations, launchBrowser, listenLocally, openPage, recordCspViolations, recordPageErrors } from '../helpers/browser.js'
import { startRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { CONTENT_SECURITY_POLICY as CSP } from '../../server/security/headers.js'
import { sentActions, startConsole, startWorker, waitForFailed, type Worker } from './fixture.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const browser = await launchBrowser(t)

async function listening(t: Test): Promise<{ app: FastifyInstance; base: string }> {
  const app = await startConsole(t, { redisUrl: redisServer.url, autoStart: true, tickMs: 200 })
  return { app, base: await listenLocally(app) }
}

async function queuePage(t: Test, base: string, worker: Worker, javaScriptEnabled = true) {
  const page = await openPage(t, browser, { javaScriptEnabled, viewport: { width: 1280, height: 900 } })
  const errors = recordPageErrors(page)
  if (javaScriptEnabled) await recordCspViolations(page)
  const response = await page.goto(`${base}/queues/${worker.service}/${worker.name}`)
  if (response?.headers()['content-security-policy'] !== CSP) throw new Error('the page is not served under the console CSP')
  if (javaScriptEnabled) await page.waitForFunction(() => 'htmx' in window)
  return { page, errors }
}

/** The label of each status watchStatuses saw, in the same order. */
const labels = (page: Page) => page.evaluate(() => (window as unknown as { __labels: string[] }).__labels)

/** Every status a command's element shows, in order, as the page changes. */
async function watchStatuses(page: Page) {
  await page.evaluate(() => {
    const w = window as unknown as { __statuses: string[]; __labels: string[] }
    w.__labels = []
    w.__statuses = []
    const record = () => {
      const element = document.querySelector('.job-head .command-status')
      const status = element?.getAttribute('data-status')
      if (status && w.__statuses.at(-1) !== status) {
        w.__statuses.push(status)
        w.__labels.push(element!.querySelector('.command-label')?.textContent?.trim() ?? '')
      }
    }
    new MutationObserver(record).observe(document.getElementById('failed-jobs')!, { childList: true, subtree: true, attributes: true })
  })
  return () => page.evaluate(() => (window as unknown as { __statuses: string[] }).__statuses)
}

t.test('click Retry on a failed job: its status goes from pending to ok, and the job runs again', async (t) => {
  const { app, base } = await listening(t)
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'browser-1', failures: 2 })
  await worker.queue.startWorker()
  await waitForFailed(app, worker, 2)
  const { page, errors } = await queuePage(t, base, worker)
  const jobId = worker.queue.failedIds[0]!
  const statuses = await watchStatuses(page)
  // a reader's open details on the other job must survive the polls of the list
  const otherDetails = page.locator('.job', { has: page.locator('.job-id', { hasText: new RegExp(`^${worker.queue.failedIds[1]!}$`) }) }).locator('details')
  await otherDetails.locator('summary').click()

  await page.click(`button[aria-label="Retry job ${jobId}"]`)
  await page.locator('.command-status[data-status="pending"]').waitFor()
  t.match(await page.locator('.command-status').textContent(), /Retry pending/)
  await eventually(async () => (await statuses()).includes('ok'), 'the status turned ok', 20_000)
  t.same(await statuses(), ['pending', 'ok'], 'pending, then ok')
  t.same(await labels(page), ['Retry pending', 'Retried'], 'each status said what it was')
  await eventually(() => worker.queue.runs.get(jobId) === 2, 'the job ran again')
  // the failed list is polled: once the agent reports the job gone, its row goes too, without a reload
  await eventually(async () => (await page.locator('.job-id', { hasText: new RegExp(`^${jobId}$`) }).count()) === 0, 'the retried job left the list', 20_000)
  t.equal(await page.locator(`button[aria-label="Retry job ${jobId}"]`).count(), 0, 'no buttons came back for it')
  t.equal(await otherDetails.getAttribute('open'), '', 'the details opened by hand are still open')
  await page.screenshot({ path: '/tmp/commands-retry.png', fullPage: true })

  t.same(await cspViolations(page), [], 'no CSP violation')
  t.same(errors, [], 'no error in the console')
})

t.test('Delete asks first: dismissed, nothing is sent; accepted, the job is deleted', async (t) => {
  const { app, base } = await listening(t)
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'browser-2', failures: 1 })
  await waitForFailed(app, worker, 1)
  const { page, errors } = await queuePage(t, base, worker)
  const jobId = worker.queue.failedIds[0]!
  const questions: string[] = []

  page.once('dialog', (dialog) => {
    questions.push(dialog.message())
    void dialog.dismiss()
  })
  await page.click(`button[aria-label="Delete job ${jobId}"]`)
  await eventually(() => questions.length === 1, 'the question was asked')
  t.match(questions[0], `Delete job ${jobId} from ${worker.name}? This cannot be undone.`)
  await page.waitForTimeout(300)
  t.equal(await page.locator('.command-status').count(), 0, 'dismissed: no status shown')
  t.same(await sentActions(app.redis, app.keys.commandStream(worker.service, worker.nodeId)), [], 'dismissed: nothing sent')

  page.once('dialog', (dialog) => {
    questions.push(dialog.message())
    void dialog.accept()
  })
  await page.click(`button[aria-label="Delete job ${jobId}"]`)
  // each step waited for on its own, so a failure says which one did not happen
  await eventually(() => questions.length === 2, 'asked again')
  await eventually(async () => (await sentActions(app.redis, app.keys.commandStream(worker.service, worker.nodeId))).length === 1, 'accepted: the command sent')
  const final = page.locator('.command-status:not([data-status="pending"])')
  await final.waitFor({ timeout: 20_000 })
  t.equal(await final.getAttribute('data-status'), 'ok', `its status: ${await final.textContent()}`)
  t.match(await page.locator('.command-status').textContent(), /Deleted/)
  t.equal(await worker.queue.queue.getJob(jobId), undefined)
  t.same(await cspViolations(page), [])
  t.same(errors, [])
})

t.test('Retry all failed: the confirmation in the action panel says how many, then the agent retries them all', async (t) => {
  const { app, base } = await listening(t)
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'browser-3', failures: 4 })
  await worker.queue.startWorker()
  await waitForFailed(app, worker, 4)
  const { page, errors } = await queuePage(t, base, worker)

  await page.click('.queue-actions button')
  await page.locator('#queue-action-panel .queue-action-confirm').waitFor()
  t.match(await page.locator('.queue-action-confirm p').textContent(), /Retry all 4 failed jobs of/)
  await page.screenshot({ path: '/tmp/commands-retry-all-confirm.png' })
  await page.click('.queue-action-confirm button[type="submit"]')
  await page.locator('#queue-action-panel .command-status[data-status="ok"]').waitFor({ timeout: 20_000 })
  t.match(await page.locator('#queue-action-panel .command-status').textContent(), /Retried all failed[\s\S]*4 of 4 done/)
  await eventually(() => worker.queue.failedIds.every((id) => worker.queue.runs.get(id) === 2), 'all four ran again')
  t.same(await cspViolations(page), [])
  t.same(errors, [])
})

t.test('without JavaScript: Retry posts the form and lands on the command page', async (t) => {
  const { app, base } = await listening(t)
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'browser-4', failures: 1 })
  await waitForFailed(app, worker, 1)
  const { page } = await queuePage(t, base, worker, false)
  await page.click(`button[aria-label="Retry job ${worker.queue.failedIds[0]!}"]`)
  await page.waitForURL(/\/commands\/[A-Za-z0-9_-]+$/)
  t.equal(await page.locator('.command-status').count(), 1)
  await eventually(async () => {
    await page.reload()
    return (await page.locator('.command-status').getAttribute('data-status')) === 'ok'
  }, 'reloading shows ok')
  await page.goto(`${base}/audit`)
  t.match(await page.locator('.audit-table').textContent(), /anonymous[\s\S]*Retried/)
  await page.screenshot({ path: '/tmp/commands-audit.png' })
})
