/**
 * Password hashes in a self-describing format, `scrypt$N$r$p$salt$hash` (salt and hash base64url),
 * so the cost can be raised later without breaking hashes already written into users files.
 * scrypt runs on libuv's thread pool: a login costs about 16 MB and tens of milliseconds there,
 * not on the event loop.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const DEFAULT_COST = { N: 2 ** 14, r: 8, p: 1 }
const KEY_LENGTH = 32
const SALT_LENGTH = 16
/** bounds on what a hash string may ask for, so a hostile users file cannot exhaust memory */
const MAX_N = 2 ** 20
const MAX_R = 32
const MAX_P = 16

const HASH_PATTERN = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{16,256})$/

export interface ParsedHash {
  N: number
  r: number
  p: number
  salt: Buffer
  hash: Buffer
}

function scrypt(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)))
  })
}

/** Memory scrypt needs is 128·N·r bytes; Node refuses above `maxmem`, so give it room. */
function scryptOptions(N: number, r: number, p: number): ScryptOptions {
  return { N, r, p, maxmem: 256 * N * r }
}

/** Parses a hash string, or null when it is not one we can verify (wrong shape or out-of-bounds cost). */
export function parseHash(text: string): ParsedHash | null {
  const match = HASH_PATTERN.exec(text)
  if (!match) return null
  const [, n, r, p, salt, hash] = match as unknown as [string, string, string, string, string, string]
  const N = Number(n)
  const R = Number(r)
  const P = Number(p)
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0
  if (!powerOfTwo || N > MAX_N || R < 1 || R > MAX_R || P < 1 || P > MAX_P) return null
  return { N, r: R, p: P, salt: Buffer.from(salt, 'base64url'), hash: Buffer.from(hash, 'base64url') }
}

export async function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(SALT_LENGTH)
  const hash = await scrypt(password, salt, KEY_LENGTH, scryptOptions(cost.N, cost.r, cost.p))
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), hash.toString('base64url')].join('$')
}

export async function verifyPassword(password: string, parsed: ParsedHash): Promise<boolean> {
  const candidate = await scrypt(password, parsed.salt, parsed.hash.length, scryptOptions(parsed.N, parsed.r, parsed.p))
  return timingSafeEqual(candidate, parsed.hash)
}
