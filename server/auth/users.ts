/**
 * The users file (`ZENITH_USERS`): JSON or YAML, `{ users: [{ username, passwordHash, role }] }`.
 * Read once at boot; a bad file stops the start with one line naming the file and the problem.
 * YAML is a superset of JSON, so one parser reads both.
 */
import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { parseHash, type ParsedHash } from './passwords.js'

export const ROLES = ['viewer', 'operator'] as const
export const roleSchema = z.enum(ROLES)
export type Role = z.infer<typeof roleSchema>

export const usernameSchema = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ @ -')

const userSchema = z.object({
  username: usernameSchema,
  passwordHash: z.string().refine((value) => parseHash(value) !== null, 'must be an scrypt hash made by `zenith hash-password`'),
  role: roleSchema,
})

const usersFileSchema = z.object({
  users: z
    .array(userSchema)
    .min(1, 'must list at least one user')
    .max(10_000)
    .superRefine((users, context) => {
      const seen = new Set<string>()
      users.forEach((user, index) => {
        if (seen.has(user.username)) context.addIssue({ code: 'custom', path: [index, 'username'], message: `duplicate username "${user.username}"` })
        seen.add(user.username)
      })
    }),
})

export interface UserRecord {
  username: string
  role: Role
  hash: ParsedHash
  /** the stored hash text: a session remembers a digest of it, so changing the password ends old sessions */
  passwordHash: string
}

export class UsersFileError extends Error {
  override name = 'UsersFileError'
}

/** Validates parsed users-file content; throws a one-line UsersFileError naming `source`. */
export function parseUsers(content: unknown, source: string): Map<string, UserRecord> {
  const parsed = usersFileSchema.safeParse(content)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue?.path.length ? issue.path.join('.') : 'content'
    throw new UsersFileError(`invalid users file ${source}: ${where}: ${issue?.message ?? 'bad value'}`)
  }
  const users = new Map<string, UserRecord>()
  for (const user of parsed.data.users) {
    users.set(user.username, { username: user.username, role: user.role, hash: parseHash(user.passwordHash)!, passwordHash: user.passwordHash })
  }
  return users
}

export async function loadUsersFile(path: string): Promise<Map<string, UserRecord>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new UsersFileError(`cannot read users file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  let content: unknown
  try {
    // maxAliasCount bounds YAML alias expansion ("billion laughs")
    content = parseYaml(text, { maxAliasCount: 100 })
  } catch (error) {
    const firstLine = (error as Error).message.split('\n')[0]
    throw new UsersFileError(`invalid users file ${path}: not JSON or YAML: ${firstLine}`)
  }
  return parseUsers(content, path)
}
