/**
 * Which host names and origins are this console's own. A browser always puts the name it
 * resolved into `Host`, and the page's own origin into `Origin`: a foreign page that rebinds its
 * name to this console's address (DNS rebinding) reaches us with its own name in both, however
 * the address was obtained. So:
 * - `Host` must be the public URL's host, or a loopback name (`localhost`, `127.0.0.1`, `[::1]`)
 *   on the port the request arrived on. Loopback names are safe on any interface: no page can make
 *   a browser send them unless the browser itself connected to this machine's loopback.
 * - a write's `Origin` (or `Referer`) must be the public URL's origin or a loopback origin on
 *   that port: a page on another port of this machine is another site.
 */
export const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]'])

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' }

export interface AllowedHosts {
  /** `localPort` is the port the request arrived on; unknown (in-process injection) matches any */
  allowsHost(host: string | undefined, localPort: number | undefined): boolean
  /** an `Origin` or `Referer` value */
  allowsOrigin(origin: string, localPort: number | undefined): boolean
  /** the names a refusal lists, for the person who typed another one */
  readonly names: readonly string[]
}

/** The public URL, checked by the config schema: http(s), no path, query, fragment or user. */
export function isPublicUrl(value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password
}

export function allowedHosts(publicUrl: string | undefined): AllowedHosts {
  const root = publicUrl === undefined ? null : new URL(publicUrl)
  const rootPort = root ? root.port || DEFAULT_PORTS[root.protocol]! : null

  function isLoopbackOn(name: string, port: string, localPort: number | undefined): boolean {
    return LOOPBACK_NAMES.has(name) && (localPort === undefined || port === String(localPort))
  }

  return {
    names: [...(root ? [root.host] : []), ...LOOPBACK_NAMES],
    allowsHost(host, localPort) {
      const parsed = parseHost(host)
      if (!parsed) return false
      // a Host without a port names the scheme's default; the request came over plain http
      // unless a proxy terminated TLS, so either default matches the public URL's
      if (root && parsed.name === root.hostname && (parsed.port === rootPort || (parsed.port === null && root.port === ''))) return true
      return isLoopbackOn(parsed.name, parsed.port ?? '80', localPort)
    },
    allowsOrigin(origin, localPort) {
      let url: URL
      try {
        url = new URL(origin)
      } catch {
        // `null` (sandboxed frames, some redirects) and anything unreadable are foreign
        return false
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return false
      if (root && url.origin === root.origin) return true
      return isLoopbackOn(url.hostname, url.port || DEFAULT_PORTS[url.protocol]!, localPort)
    },
  }
}

/** `name[:port]` as a browser sends it, lower-cased; null for anything else (paths, users, spaces). */
function parseHost(host: string | undefined): { name: string; port: string | null } | null {
  if (host === undefined) return null
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(host.toLowerCase())
  if (!match) return null
  // `:080` and `:80` are the same port to the browser
  return { name: match[1]!, port: match[2] === undefined ? null : String(Number(match[2])) }
}
