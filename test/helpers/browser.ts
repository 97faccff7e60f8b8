/**
 * Debian's chromium through playwright-core, as every browser test starts it: headless, no sandbox
 * (root), and without the background traffic this machine's closed network would refuse. Closed
 * when the test file ends.
 */
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core'

export async function launchBrowser(t: Pick<Test, 'teardown'>, extraArgs: string[] = []): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...extraArgs],
  })
  t.teardown(() => browser.close())
  return browser
}

/** Records every Content-Security-Policy violation of the pages this page loads from now on. */
export async function recordCspViolations(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] }
    w.__csp = []
    document.addEventListener('securitypolicyviolation', (event) => w.__csp.push(`${event.violatedDirective} ${event.blockedURI}`))
  })
}

/** The violations recordCspViolations saw on the current page. */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)
}

/** Listens on a free loopback port, for a browser to reach: returns the base URL. */
export async function listenLocally(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
}

/** A page in its own context (its own cookies), closed when the test ends. */
export async function openPage(t: Pick<Test, 'teardown'>, browser: Browser, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext(options)
  t.teardown(() => context.close())
  return context.newPage()
}

/** Collects the page's uncaught errors and console errors from now on: a clean page leaves it empty. */
export function recordPageErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  return errors
}
