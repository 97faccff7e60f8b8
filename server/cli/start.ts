/**
 * `zenith start`. Every flag is one row of START_FLAGS: its environment fallback, the config field
 * it sets and, optionally, how its text becomes a value. A value is checked against that field's
 * zod schema as it is read, so a bad flag or env var names itself in the error line; the whole
 * config is parsed once more before the server starts. Flags win over environment variables.
 */
import { Option, InvalidArgumentError, type Command } from 'commander'
import type { z } from 'zod'
import { checkExposure } from '../auth/cli.js'
import { loadAlertRules } from '../alerts/rules.js'
import { checkPasswordPolicy } from '../security/password-policy.js'
import { configSchema, describeConfigError, type ZenithConfig } from '../config.js'
import { formatDuration, parseDuration } from '../duration.js'
import { limitHeapGrowth } from '../runtime/heap-growth.js'
import { UsageError } from './errors.js'
import { parseTrustProxy } from '../http/trust-proxy.js'

type ConfigKey = keyof typeof configSchema.shape

export interface StartFlag {
  /** `--name <value>` for a value, `--name` or `--no-name` for an on/off switch */
  flags: string
  /** read when the flag is absent; a switch's variable takes 1/0, true/false, yes/no, on/off */
  env: string
  key: ConfigKey
  description: string
  /** text to value before the zod check; throw to reject with the error's message */
  parse?: (text: string) => unknown
  /** how --help shows the default (the default itself comes from the config schema) */
  showDefault?: (value: never) => string
  /** checked only with the whole config, so no error line ever repeats the value */
  secret?: true
}

export const START_FLAGS: StartFlag[] = [
  { flags: '--url <url>', env: 'REDIS_URL', key: 'redisUrl', description: 'Redis to monitor, redis:// or rediss:// (default: an embedded redis-server on 127.0.0.1)' },
  { flags: '--cluster', env: 'ZENITH_REDIS_CLUSTER', key: 'redisCluster', description: 'the --url is one node of a Redis Cluster: read every master, group commands by slot' },
  { flags: '--port <port>', env: 'PORT', key: 'port', description: 'HTTP port (0 picks a free one)', parse: parsePort },
  { flags: '--host <host>', env: 'HOST', key: 'host', description: 'interface to listen on (0.0.0.0 for all)' },
  { flags: '--public-url <url>', env: 'ZENITH_PUBLIC_URL', key: 'publicUrl', description: 'the URL people open, e.g. https://zenith.example.com; other host names are refused' },
  { flags: '--prefix <prefix>', env: 'QUASAR_PREFIX', key: 'prefix', description: 'key prefix the agents write under' },
  { flags: '--grace <duration>', env: 'ZENITH_GRACE', key: 'graceMs', description: 'how long a dead node stays listed (ms, or 30s, 5m, 1h)', parse: parseDurationFlag, showDefault: formatDuration },
  { flags: '--data-dir <dir>', env: 'ZENITH_DATA_DIR', key: 'dataDir', description: 'where the embedded redis-server keeps its data' },
  { flags: '--log-level <level>', env: 'LOG_LEVEL', key: 'logLevel', description: 'fatal, error, warn, info, debug, trace or silent' },
  { flags: '--no-self-monitor', env: 'ZENITH_SELF_MONITOR', key: 'selfMonitor', description: 'do not show the console itself as service "zenith"' },
  { flags: '--password <password>', env: 'ZENITH_PASSWORD', key: 'password', description: 'require a login with this shared password (prefer the env var: flags show in ps)', secret: true },
  { flags: '--users <file>', env: 'ZENITH_USERS', key: 'usersFile', description: 'require a login from this users file (JSON or YAML, scrypt hashes, roles)' },
  { flags: '--api-token <token>', env: 'ZENITH_API_TOKEN', key: 'apiToken', description: 'bearer token accepted under /api/ (16+ characters)', secret: true },
  { flags: '--quasar-token <token>', env: 'QUASAR_TOKEN', key: 'quasarToken', description: 'secret shared with the agents, signs commands (16+ characters; without it commands are off)', secret: true },
  { flags: '--session-secret <secret>', env: 'ZENITH_SESSION_SECRET', key: 'sessionSecret', description: 'signs session cookies; give every replica the same one (32+ characters)', secret: true },
  {
    flags: '--trust-proxy <proxies>',
    env: 'ZENITH_TRUST_PROXY',
    key: 'trustProxy',
    description: 'believe X-Forwarded-For/-Proto from these reverse proxies: addresses or CIDR ranges (10.0.0.0/8,127.0.0.1), or a hop count (default: none)',
    parse: parseTrustProxy,
  },
  { flags: '--api-rate-limit <n>', env: 'ZENITH_API_RATE_LIMIT', key: 'apiRateLimit', description: 'JSON API requests a minute for each token or session' },
  { flags: '--command-rate-limit <n>', env: 'ZENITH_COMMAND_RATE_LIMIT', key: 'commandRateLimit', description: 'commands a minute for each token or session' },
  { flags: '--insecure', env: 'ZENITH_INSECURE', key: 'insecure', description: 'allow listening on a non-loopback address without a password' },
  {
    flags: '--archive <target>',
    env: 'ZENITH_ARCHIVE',
    key: 'archive',
    description: 'where finished jobs are kept: sqlite:<path>, postgres://user@host/db (prefer the env var: flags show in ps) or off (default: sqlite:<data-dir>/archive.sqlite)',
    // a postgres:// URL holds a password: checked with the whole config, so no error line repeats it
    secret: true,
  },
  { flags: '--retention <caps>', env: 'ZENITH_RETENTION', key: 'retention', description: 'how long archived jobs are kept and the size cap (default: completed=7d,failed=30d,max=5GB; off lifts a cap)' },
  { flags: '--alerts <file>', env: 'ZENITH_ALERTS', key: 'alertsFile', description: 'alert rules and channels (JSON or YAML; default rules without it)' },
]

export function addStartCommand(program: Command): void {
  const command = program.command('start').description('start the console')
  for (const flag of START_FLAGS) command.addOption(toOption(flag))
  command.action(async () => {
    const config = readConfig(command)
    if (config.redisCluster && config.redisUrl === undefined) throw new UsageError('error: --cluster needs --url: the embedded redis-server is a single server, not a Cluster')
    const exposure = checkExposure(config)
    if (!exposure.ok) throw new UsageError(`error: ${exposure.error}`)
    const passwordPolicy = checkPasswordPolicy(config)
    if (!passwordPolicy.ok) throw new UsageError(`error: ${passwordPolicy.error}`)
    // a bad rules file stops the start with its one-line reason, before anything is started
    if (config.alertsFile)
      await loadAlertRules(config.alertsFile).catch((error: Error) => {
        throw new UsageError(`error: ${error.message}`)
      })
    limitHeapGrowth()
    // loaded only here, so --help and other commands do not load the whole server
    const { startServer } = await import('../server.js')
    await startServer(config)
  })
}

const isSwitch = (flag: StartFlag) => !flag.flags.includes('<')

function toOption(flag: StartFlag): Option {
  if (isSwitch(flag)) {
    // commander would treat any value of a switch's env var, "0" and "false" included, as "on"
    return new Option(flag.flags, `${flag.description} (env: ${flag.env}=0|1)`)
  }
  const option = new Option(flag.flags, flag.description).env(flag.env)
  if (!flag.secret) option.argParser(checkValue(flag))
  const fallback = configSchema.shape[flag.key].safeParse(undefined)
  if (fallback.success && fallback.data !== undefined) {
    option.default(fallback.data, flag.showDefault ? flag.showDefault(fallback.data as never) : String(fallback.data))
  }
  return option
}

/** Runs for a flag's value and for its env fallback; commander names the source in the error line. */
function checkValue(flag: StartFlag): (text: string) => unknown {
  const schema = configSchema.shape[flag.key]
  return (text) => {
    if (text.trim() === '') throw new InvalidArgumentError('must not be empty')
    let value: unknown = text
    try {
      if (flag.parse) value = flag.parse(text)
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error))
    }
    const result = schema.safeParse(value)
    if (!result.success) throw new InvalidArgumentError(result.error.issues[0]?.message ?? 'invalid value')
    return result.data
  }
}

function readConfig(command: Command): ZenithConfig {
  const input: Record<string, unknown> = {}
  for (const flag of START_FLAGS) {
    const option = command.options.find((candidate) => candidate.flags === flag.flags)
    if (!option) continue
    const name = option.attributeName()
    const envText = process.env[flag.env]
    input[flag.key] = isSwitch(flag) && command.getOptionValueSource(name) !== 'cli' && envText !== undefined ? parseSwitch(flag.env, envText) : command.getOptionValue(name)
  }
  const parsed = configSchema.safeParse(input)
  if (!parsed.success) throw new UsageError(`error: ${describeStartError(command, parsed.error)}`)
  return parsed.data
}

/** Names the flag or env var the bad value came from, never the value itself. */
function describeStartError(command: Command, error: z.ZodError): string {
  const issue = error.issues[0]
  const flag = START_FLAGS.find((candidate) => candidate.key === issue?.path[0])
  const option = flag && command.options.find((candidate) => candidate.flags === flag.flags)
  if (!issue || !flag || !option) return describeConfigError(error)
  const fromEnv = command.getOptionValueSource(option.attributeName()) === 'env'
  return `invalid ${fromEnv ? flag.env : option.long}: ${issue.message}`
}

/** An on/off environment variable: 1 or 0 and their spellings; anything else is a usage error. */
export function parseSwitch(env: string, text: string): boolean {
  if (/^(1|true|yes|on)$/i.test(text.trim())) return true
  if (/^(0|false|no|off)$/i.test(text.trim())) return false
  throw new UsageError(`error: environment variable ${env} must be 1 or 0 (true/false, yes/no, on/off), got '${text}'`)
}

function parseDurationFlag(text: string): number {
  const ms = parseDuration(text)
  if (ms === null) throw new Error('must be milliseconds or a number with ms, s, m or h (e.g. 300000, 30s, 5m)')
  return ms
}

function parsePort(text: string): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new Error('must be a whole number from 0 to 65535')
  return Number(text)
}
