/**
 * Debian's chromium through playwright-core, as every browser test starts it: headless, no sandbox
 * (root), and without the background traffic this machine's closed network would refuse. Closed
 * when the test file ends.
 */
import type { Test } from 'tap'
import { chromium, type Browser, type Page } from 'playwright-core'

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
