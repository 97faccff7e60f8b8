/**
 * A token bucket: at most `burst` commands at once, then `perSecond` on average. It paces the
 * commands an agent executes, so a "retry all failed" from the console reaches the workers as a
 * trickle, never as a storm. Waiting uses an unref'd timer and ends early (false) when closed.
 */
export interface TokenBucket {
  /** resolves true once a token is taken, false if the bucket was closed meanwhile */
  take(): Promise<boolean>
  close(): void
}

export function createTokenBucket(options: { perSecond: number; burst: number; now?: () => number }): TokenBucket {
  const now = options.now ?? Date.now
  const perMs = options.perSecond / 1000
  let tokens = options.burst
  let refilledAt = now()
  let closed = false
  const sleepers = new Set<() => void>()

  function refill(): void {
    const at = now()
    tokens = Math.min(options.burst, tokens + Math.max(0, at - refilledAt) * perMs)
    refilledAt = at
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        sleepers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      timer.unref()
      sleepers.add(wake)
    })
  }

  return {
    async take() {
      for (;;) {
        if (closed) return false
        refill()
        if (tokens >= 1) {
          tokens -= 1
          return true
        }
        await sleep(Math.max(1, Math.ceil((1 - tokens) / perMs)))
      }
    },
    close() {
      closed = true
      for (const wake of [...sleepers]) wake()
    },
  }
}
