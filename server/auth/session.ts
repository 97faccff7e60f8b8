/**
 * What the cookies and tokens are made of. The session cookie carries only a random id, signed
 * (HMAC-SHA256, @fastify/cookie) with a key derived from the session secret so that a forged
 * cookie is refused without asking Redis; the session itself is in Redis (session-store.ts).
 * The login form's token and an open console's CSRF token are HMACs, so they need no storage.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Role } from './users.js'

export const SESSION_COOKIE = 'zenith_session'
export const LOGIN_COOKIE = 'zenith_login'
/** how long a login form stays valid after it was served */
export const LOGIN_FORM_TTL_MS = 2 * 60 * 60_000

export interface AuthUser {
  username: string
  role: Role
}

/** Separate keys per use, so a value signed for one purpose never verifies for another. */
export interface AuthKeys {
  cookie: Buffer
  csrf: Buffer
  fingerprint: Buffer
}

export function deriveKeys(secret: string | Buffer): AuthKeys {
  const derive = (purpose: string) => createHmac('sha256', secret).update(`zenith/${purpose}`).digest()
  return { cookie: derive('cookie'), csrf: derive('csrf'), fingerprint: derive('fingerprint') }
}

function hmac(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url')
}

/** Compares two strings in time independent of where they differ (hashing first equalises length). */
export function safeEqual(a: string, b: string): boolean {
  const digest = (value: string) => createHmac('sha256', 'compare').update(value).digest()
  return timingSafeEqual(digest(a), digest(b))
}

/** The CSRF token of an open console's anonymous operator (`anonymous`); sessions keep their own. */
export function csrfToken(keys: AuthKeys, subject: string): string {
  return hmac(keys.csrf, `session:${subject}`)
}

export function loginFormToken(keys: AuthKeys, nonce: string): string {
  return hmac(keys.csrf, `login:${nonce}`)
}

/** A short digest of the credential the session was made with; a changed password ends the session. */
export function credentialFingerprint(keys: AuthKeys, credential: string): string {
  return hmac(keys.fingerprint, credential).slice(0, 16)
}

/**
 * Where to send the browser after login: only a path on this site. Anything else (absolute URLs,
 * `//host`, backslashes that browsers read as slashes, control characters) becomes `/`.
 * The check runs on the URL parser's normalised result, the text that ends up in `Location`:
 * `/.//evil.example`, `/..//x` and `/%2e//x` are single-slash paths before normalisation and
 * `//evil.example` (another site) after it.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return '/'
  if (!isSitePath(next)) return '/'
  let url: URL
  try {
    url = new URL(next, 'http://zenith.invalid')
  } catch {
    return '/'
  }
  if (url.origin !== 'http://zenith.invalid') return '/'
  const path = url.pathname + url.search + url.hash
  // decoded, only the start matters: names in paths may hold any character, encoded
  const decoded = decodePath(url.pathname)
  if (!isSitePath(path) || /^[/\\]{2}/.test(decoded)) return '/'
  if (decoded === '/login' || decoded === '/logout') return '/'
  return path
}

/** One leading slash, not two, no backslash or control character anywhere. */
function isSitePath(path: string): boolean {
  // eslint-disable-next-line no-control-regex
  return path.startsWith('/') && !path.startsWith('//') && !/[\\\u0000-\u001f\u007f]/.test(path)
}

/** The path as a browser or proxy might read it once decoded; an unreadable encoding fails the check. */
function decodePath(pathname: string): string {
  try {
    return decodeURIComponent(pathname)
  } catch {
    return '//'
  }
}

export function loginUrl(next?: string): string {
  const target = safeNext(next)
  return target === '/' ? '/login' : `/login?next=${encodeURIComponent(target)}`
}
