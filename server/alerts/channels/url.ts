/**
 * Channel URLs are secrets (a Slack webhook URL is its own credential): they are checked once at
 * load and only ever shown masked.
 */

/** Why `url` may not be used as a channel URL, or null when it may. */
export function channelUrlProblem(url: string): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'is not a valid URL'
  }
  if (parsed.protocol === 'https:') return null
  if (parsed.protocol === 'http:') {
    return isLoopback(parsed.hostname) ? null : 'must use https (http is allowed only to 127.0.0.0/8, ::1 or localhost)'
  }
  return 'must use https'
}

export function isLoopback(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true
  // the URL parser has already normalised the address to dotted decimal
  const octets = hostname.split('.')
  return octets.length === 4 && octets[0] === '127' && octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255)
}

/** `https://hooks.slack.com/services/T0/B0/secret` → `https://hooks.slack.com/…` */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}/…`
  } catch {
    return '…'
  }
}
