/**
 * Whether a listen address or host name stays on this machine. Shared by the exposure check (an
 * open console may listen only on loopback) and the Host check (a loopback listener without a
 * public URL knows which names it serves), so both agree on what "loopback" means.
 */
import { isIPv4, isIPv6 } from 'node:net'

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true
  if (isIPv4(bare)) return bare.startsWith('127.')
  if (isIPv6(bare)) return bare === '::1' || /^::ffff:127\./.test(bare) || bare === '0:0:0:0:0:0:0:1'
  return false
}
