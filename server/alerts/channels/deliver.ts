/**
 * Sends one message to one channel: a JSON POST with a short timeout, no redirect followed (a 3xx
 * is a failure, so a receiver cannot bounce the message elsewhere), retried with backoff when the
 * failure may pass (network error, timeout, 5xx, 408, 429). Error texts never contain the URL.
 * Every attempt carries the message's id in `Idempotency-Key`, so a receiver that saw the first
 * attempt (whose answer was lost) can drop the retry.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { ChannelConfig } from '../schemas.js'
import type { ChannelMessage } from './message.js'
import { slackPayload } from './slack.js'
import { webhookPayload } from './webhook.js'

export interface DeliverOptions {
  /** per attempt */
  timeoutMs?: number
  /** waits before each retry; its length is the number of retries */
  backoffMs?: readonly number[]
  /** injectable so tests do not wait for real backoff */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  /** aborts the delivery, retries included (the console is closing) */
  signal?: AbortSignal
}

export interface DeliveryOutcome {
  ok: boolean
  attempts: number
  error?: string
}

export const DEFAULT_TIMEOUT_MS = 3_000
export const DEFAULT_BACKOFF_MS: readonly number[] = [500, 1_000, 2_000]

const defaultSleep = (ms: number, signal: AbortSignal) => delay(ms, undefined, { signal }).then(() => undefined)

export function payloadFor(channel: ChannelConfig, message: ChannelMessage): unknown {
  return channel.type === 'slack' ? slackPayload(message) : webhookPayload(message)
}

export async function deliver(channel: ChannelConfig, message: ChannelMessage, options: DeliverOptions = {}): Promise<DeliveryOutcome> {
  const backoff = options.backoffMs ?? DEFAULT_BACKOFF_MS
  const sleep = options.sleep ?? defaultSleep
  const closing = options.signal ?? new AbortController().signal
  const body = JSON.stringify(payloadFor(channel, message))
  let attempts = 0
  for (;;) {
    if (closing.aborted) return { ok: false, attempts, error: 'console closing' }
    attempts++
    const result = await post(channel.url, message.id, body, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, closing)
    if (result.ok) return { ok: true, attempts }
    const error = result.error
    const wait = backoff[attempts - 1]
    if (!result.retry || wait === undefined) return { ok: false, attempts, error }
    try {
      await sleep(wait, closing)
    } catch {
      return { ok: false, attempts, error }
    }
  }
}

type PostResult = { ok: true } | { ok: false; retry: boolean; error: string }

async function post(url: string, id: string, body: string, timeoutMs: number, closing: AbortSignal): Promise<PostResult> {
  let response: Response
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'zenith-alerts', 'idempotency-key': id },
      body,
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), closing]),
    })
  } catch (error) {
    return { ok: false, retry: !closing.aborted, error: describeFetchError(error, timeoutMs) }
  }
  // the body is not needed; releasing it returns the connection to the pool
  await response.body?.cancel().catch(() => {})
  const status = response.status
  if (status >= 200 && status < 300) return { ok: true }
  if (status >= 300 && status < 400) return { ok: false, retry: false, error: `redirect (${status}) not followed` }
  return { ok: false, retry: status >= 500 || status === 408 || status === 429, error: `HTTP ${status}` }
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'aborted'
  }
  // undici puts the socket error (ECONNREFUSED, ENOTFOUND, …) in `cause`; its code names no URL
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined
  if (cause && typeof cause.code === 'string') return cause.code
  return 'request failed'
}
