/**
 * Who may log in: nobody (running open), one shared password (role operator), or the users file.
 * Every check runs scrypt, an unknown username included, so the answer time does not reveal
 * which usernames exist.
 */
import { randomBytes } from 'node:crypto'
import { hashPassword, parseHash, verifyPassword, type ParsedHash } from './passwords.js'
import { credentialFingerprint, type AuthKeys, type AuthUser } from './session.js'
import type { UserRecord } from './users.js'

export type LoginMode = 'none' | 'password' | 'users'

/** the name sessions made with the single shared password carry (audit lines show it) */
export const PASSWORD_USERNAME = 'admin'

export interface Verified extends AuthUser {
  fingerprint: string
}

export interface Credentials {
  mode: LoginMode
  /** null when the username is unknown or the password wrong */
  verify(username: string | undefined, password: string): Promise<Verified | null>
  /** the user a session still stands for; null once the user is gone or the password changed */
  fromSession(session: SessionCredential): AuthUser | null
  /** whether `username` names a real account (for logs: unknown names are not logged verbatim) */
  knows(username: string | undefined): boolean
  /**
   * Users mode: takes a re-read users file; resolves with the usernames whose password changed or
   * who are gone, whose sessions no longer stand for anyone. Other modes: nothing to replace.
   */
  replaceUsers(users: Map<string, UserRecord>): string[]
}

/** what a session remembers of its login: the username and a digest of the credential */
export interface SessionCredential {
  u: string
  fp: string
}

export interface CredentialsSource {
  password?: string
  users?: Map<string, UserRecord>
}

export async function createCredentials(source: CredentialsSource, keys: AuthKeys): Promise<Credentials> {
  const decoy = parseHash(await hashPassword(randomBytes(16).toString('hex')))!

  if (source.users) {
    let users = source.users
    const fingerprintOf = (user: UserRecord) => credentialFingerprint(keys, `user:${user.username}:${user.passwordHash}`)
    return {
      mode: 'users',
      async verify(username, password) {
        const user = username === undefined ? undefined : users.get(username)
        const ok = await verifyPassword(password, user?.hash ?? decoy)
        return ok && user ? { username: user.username, role: user.role, fingerprint: fingerprintOf(user) } : null
      },
      fromSession(session) {
        const user = users.get(session.u)
        // the role comes from the file, not the cookie: a demoted user loses operator at once
        return user && fingerprintOf(user) === session.fp ? { username: user.username, role: user.role } : null
      },
      knows: (username) => username !== undefined && users.has(username),
      replaceUsers(next) {
        const ended = [...users.values()].filter((user) => {
          const now = next.get(user.username)
          return !now || fingerprintOf(now) !== fingerprintOf(user)
        })
        users = next
        return ended.map((user) => user.username)
      },
    }
  }

  if (source.password !== undefined) {
    const hash: ParsedHash = parseHash(await hashPassword(source.password))!
    const fingerprint = credentialFingerprint(keys, `password:${source.password}`)
    return {
      mode: 'password',
      async verify(_username, password) {
        const ok = await verifyPassword(password, hash)
        return ok ? { username: PASSWORD_USERNAME, role: 'operator', fingerprint } : null
      },
      fromSession(session) {
        return session.u === PASSWORD_USERNAME && session.fp === fingerprint ? { username: PASSWORD_USERNAME, role: 'operator' } : null
      },
      knows: () => true,
      replaceUsers: () => [],
    }
  }

  return {
    mode: 'none',
    verify: async () => null,
    fromSession: () => null,
    knows: () => false,
    replaceUsers: () => [],
  }
}
