/**
 * `--trust-proxy` / `ZENITH_TRUST_PROXY`: which reverse proxies may speak for the client through
 * `X-Forwarded-For` (the client address the login limits count) and `X-Forwarded-Proto` (whether
 * session cookies are `Secure`). Absent, nothing is trusted and both headers are ignored.
 *
 * Two forms: a hop count (`1`: the nearest hop is a proxy), or a list of proxy addresses and CIDR
 * ranges (`10.0.0.0/8,127.0.0.1`; also `loopback`, `linklocal`, `uniquelocal`). Fastify 5.12
 * ignores a numeric `trustProxy` (it cannot check who the nearest peer is), so a hop count is
 * handed over as a trust function. That is why the address list is the safer form: with a hop
 * count, a client that reaches the console without the proxy writes its own headers.
 */
import { isIP } from 'node:net'
import { z } from 'zod'

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

function isAddressOrRange(text: string): boolean {
  if (NAMED_RANGES.has(text)) return true
  const [address, bits, extra] = text.split('/')
  const family = isIP(address ?? '')
  if (family === 0 || extra !== undefined) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}

export const trustProxySchema = z.union([
  z.number().int().min(1, 'a hop count must be at least 1 (leave it unset to trust no proxy)').max(16),
  z.array(z.string().refine(isAddressOrRange, 'must be IP addresses or CIDR ranges (or loopback, linklocal, uniquelocal)')).min(1).max(64),
])

export type TrustProxy = z.infer<typeof trustProxySchema>

/** `2` → 2 hops; `10.0.0.0/8, 127.0.0.1` → the list. The schema checks the result. */
export function parseTrustProxy(text: string): unknown {
  const trimmed = text.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  return trimmed
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
}

/** The value for Fastify's `trustProxy` option; false when nothing is trusted. */
export function fastifyTrustProxy(trust: TrustProxy | undefined): false | string[] | ((address: string, hop: number) => boolean) {
  if (trust === undefined) return false
  if (typeof trust === 'number') return (_address, hop) => hop < trust
  return [...trust]
}
