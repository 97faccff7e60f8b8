/**
 * The shared password (ZENITH_PASSWORD) is one secret for every operator, often typed into a
 * Compose file and never changed: a short one or a well-known one is refused at start, on every
 * interface (a loopback console is one rebinding or port-forward away from being exposed), unless
 * `--insecure` says otherwise. Users-file passwords are scrypt hashes chosen per person; their
 * strength cannot be checked here and is not.
 */
import fp from 'fastify-plugin'

export const MIN_PASSWORD_LENGTH = 12

/**
 * Known-weak values, compared case-insensitively: the defaults people copy from examples (ours
 * included), and the usual first guesses. Anything shorter than MIN_PASSWORD_LENGTH is refused
 * anyway; short entries stay listed so the reason given is the more useful one.
 */
export const WEAK_PASSWORDS: readonly string[] = [
  'change-me',
  'changeme',
  'change-me-please',
  'changemeplease',
  'change-me-now',
  'compose-demo-token-change-me',
  'password',
  'password1',
  'password123',
  'password1234',
  'passwordpassword',
  'admin',
  'admin123',
  'administrator',
  'administrator1',
  'root',
  'secret',
  'supersecret',
  'mysecretpassword',
  'letmein',
  'letmeinletmein',
  'welcome',
  'welcome123456',
  'zenith',
  'zenith-admin',
  'zenith-password',
  'zenithpassword',
  'zenith-console',
  'quasar',
  'quasar-token',
  'gravito',
  'monitoring',
  'qwerty',
  'qwertyuiop',
  'qwertyuiop123',
  '123456',
  '12345678',
  '123456789',
  '1234567890',
  '123456789012',
]

const WEAK = new Set(WEAK_PASSWORDS.map((password) => password.toLowerCase()))

/**
 * The two settings the policy reads, as the parsed config holds them. Named here rather than
 * picked from the config type: the config imports its URL and proxy rules from this layer, and
 * this layer imports nothing back.
 */
export interface PasswordSettings {
  readonly password?: string | undefined
  readonly insecure: boolean
}

export type PasswordPolicyCheck = { ok: true; warning?: string } | { ok: false; error: string }

/** Why `password` is too weak, or null when it is not. */
export function passwordWeakness(password: string): string | null {
  if (WEAK.has(password.trim().toLowerCase())) return 'is on the list of well-known passwords'
  // code points, not UTF-16 units: an emoji is one character to whoever typed it
  if ([...password].length < MIN_PASSWORD_LENGTH) return `is shorter than ${MIN_PASSWORD_LENGTH} characters`
  return null
}

export function checkPasswordPolicy(config: PasswordSettings): PasswordPolicyCheck {
  if (config.password === undefined) return { ok: true }
  const weakness = passwordWeakness(config.password)
  if (weakness === null) return { ok: true }
  if (config.insecure) return { ok: true, warning: `the shared password (ZENITH_PASSWORD) ${weakness}; accepted because of --insecure` }
  return {
    ok: false,
    error: `refusing a weak ZENITH_PASSWORD: it ${weakness}; generate one (openssl rand -base64 24), or pass --insecure`,
  }
}

/** The same check at boot, for consoles built without the CLI (tests, embedders). */
export default fp<{ config: PasswordSettings }>(
  async (app, options) => {
    const check = checkPasswordPolicy(options.config)
    if (!check.ok) throw new Error(check.error)
    if (check.warning) app.log.warn({ event: 'weak_password' }, check.warning)
  },
  { name: 'zenith-password-policy' },
)
