/**
 * What the `zenith` command needs from access control:
 * - `hashPasswordCommand`: `zenith hash-password [password]` prints an scrypt hash for a users
 *   file. Reading the password from stdin is preferred: an argument lands in shell history and `ps`.
 * - `checkExposure`: run before listening; an error line means exit code 2.
 */
import type { Readable, Writable } from 'node:stream'
import { hashPassword, parseHash, verifyPassword } from './passwords.js'

export { checkExposure, type ExposureCheck } from './exposure.js'
export { loadUsersFile, UsersFileError } from './users.js'

export interface HashPasswordIo {
  /** the password given as an argument, if any */
  password?: string
  stdin: Readable & { isTTY?: boolean }
  stdout: Writable
  stderr: Writable
}

/** Returns the exit code: 0 with the hash on stdout, 2 when no usable password was given. */
export async function hashPasswordCommand(io: HashPasswordIo): Promise<number> {
  let password = io.password
  if (password === undefined) {
    if (io.stdin.isTTY) io.stderr.write('Password: ')
    password = await readLine(io.stdin)
  }
  if (password.length === 0) {
    io.stderr.write('zenith hash-password: empty password; pass it on stdin (echo -n … | zenith hash-password) or as an argument\n')
    return 2
  }
  if (password.length > 1024) {
    io.stderr.write('zenith hash-password: password longer than 1024 characters\n')
    return 2
  }
  const hash = await hashPassword(password)
  // cheap insurance that what we print is what verify accepts
  if (!(await verifyPassword(password, parseHash(hash)!))) throw new Error('hash does not verify')
  io.stdout.write(`${hash}\n`)
  return 0
}

/** The first line of the stream (without its line ending), or everything up to EOF. */
async function readLine(stream: Readable): Promise<string> {
  let text = ''
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8')
    const end = text.search(/\r?\n/)
    if (end !== -1) {
      text = text.slice(0, end)
      break
    }
    if (text.length > 64 * 1024) break
  }
  return text.replace(/\r?\n$/, '')
}
