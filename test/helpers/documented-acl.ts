/**
 * The Redis ACL lines of docs/security.md, read from the document so that the docs cannot drift
 * from what the tests run.
 */
import { readFileSync } from 'node:fs'

export const documentedAclLines: readonly string[] = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('ACL SETUSER '))

/** The arguments of an `ACL SETUSER` line, for `redis.call('ACL', 'SETUSER', ...args)`. */
export function setUserArgs(line: string): string[] {
  return line.split(' ').slice(2)
}

/** `redisUrl` logged in as a documented user, with the password its line gives. */
export function documentedUserUrl(redisUrl: string, user: string): string {
  const line = documentedAclLines.find((l) => l.startsWith(`ACL SETUSER ${user} `))
  const password = line
    ?.split(' ')
    .find((word) => word.startsWith('>'))
    ?.slice(1)
  if (!password) throw new Error(`no ACL line with a password for ${user} in docs/security.md`)
  return redisUrl.replace('redis://', `redis://${user}:${password}@`)
}
