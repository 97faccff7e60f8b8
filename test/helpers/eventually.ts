/**
 * Polls until `check` returns true, for things that happen "soon" (a reconnect, a tick). The
 * deadline is generous on purpose: it bounds a hung test, it is not a speed assertion.
 */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 20_000, everyMs = 100): Promise<void> {
  const until = Date.now() + deadlineMs
  for (;;) {
    try {
      if (await check()) return
    } catch {
      // not yet: the thing being waited for may throw until it is ready
    }
    if (Date.now() > until) throw new Error(`timed out waiting: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
