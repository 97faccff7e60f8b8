/**
 * The console's configuration, validated once at boot. CLI flags win over environment variables;
 * anything invalid stops the start with one clear line (see cli.ts).
 */
import { z } from 'zod'
import { DEFAULT_PREFIX, QUASAR_TOKEN_MIN_LENGTH } from '@gravito/quasar/protocol'
import { DEFAULT_SLICE_MS } from './runtime/slices.js'
import { trustProxySchema } from './http/trust-proxy.js'
import { isPublicUrl } from './security/allowed-hosts.js'
import { archiveTargetSchema, retentionSchema } from './archive/settings.js'

const port = z.coerce.number().int().min(0).max(65535)
const duration = z.coerce.number().int().positive()

export const configSchema = z.object({
  /** absent: start an embedded redis-server */
  redisUrl: z
    .string()
    .refine((value) => /^rediss?:\/\//.test(value), 'must start with redis:// or rediss://')
    .optional(),
  /** `redisUrl` is one seed node of a Redis Cluster (--cluster, ZENITH_REDIS_CLUSTER); needs a URL */
  redisCluster: z.boolean().default(false),
  port: port.default(3000),
  host: z.string().min(1).default('127.0.0.1'),
  /**
   * the URL people open the console at (ZENITH_PUBLIC_URL); its host is the only one answered
   * besides the loopback names, which stops DNS rebinding
   */
  publicUrl: z.string().refine(isPublicUrl, 'must be an http:// or https:// URL without a path, e.g. https://zenith.example.com').optional(),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -')
    .default(DEFAULT_PREFIX),
  /** how long a dead node stays listed with its last values */
  graceMs: duration.default(5 * 60_000),
  tickMs: duration.default(2_000),
  /**
   * a collector part (or the Redis probe) that has not answered after this long fails for the
   * tick and keeps its last data; it also bounds how long one tick can take
   */
  partTimeoutMs: duration.default(10_000),
  /** where the embedded redis-server keeps its data, and the default SQLite archive (archive.sqlite) */
  dataDir: z.string().min(1).default('.zenith/redis'),
  /** the job archive (--archive, ZENITH_ARCHIVE): off, sqlite:<path> or postgres://…; absent: SQLite in dataDir */
  archive: archiveTargetSchema.optional(),
  /** how long archived jobs are kept, per state, and the size cap (--retention, ZENITH_RETENTION); absent: DEFAULT_RETENTION */
  retention: retentionSchema.optional(),
  /** monitor the console itself with the SDK as service `zenith` */
  selfMonitor: z.boolean().default(true),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** one shared password (ZENITH_PASSWORD); logging in with it gives the operator role */
  password: z.string().min(1).max(1024).optional(),
  /** path of a JSON or YAML users file with scrypt hashes and roles (ZENITH_USERS) */
  usersFile: z.string().min(1).optional(),
  /** bearer token accepted under /api/ with the operator role (ZENITH_API_TOKEN) */
  apiToken: z.string().min(16, 'must be at least 16 characters').max(1024).optional(),
  /** allow listening on a non-loopback address without a password */
  insecure: z.boolean().default(false),
  /**
   * signs session cookies and CSRF tokens (ZENITH_SESSION_SECRET); absent, a random one per
   * process, so replicas behind one load balancer must all be given the same value
   */
  sessionSecret: z.string().min(32, 'must be at least 32 characters').optional(),
  /** reverse proxies whose X-Forwarded-For/-Proto are believed (ZENITH_TRUST_PROXY); absent: none */
  trustProxy: trustProxySchema.optional(),
  /** JSON API requests a minute for each token, session or (open console) address; then 429 */
  apiRateLimit: z.coerce.number().int().positive().default(600),
  /** commands (and any other write but login and logout) a minute for each token or session */
  commandRateLimit: z.coerce.number().int().positive().default(60),
  /** load shedding: mean event-loop delay (ms) beyond which requests get 503 */
  shedEventLoopDelayMs: duration.default(1_000),
  /** how often the event loop is sampled for load shedding */
  shedSampleIntervalMs: duration.default(1_000),
  /** the secret shared with agents; commands are signed with it (QUASAR_TOKEN); absent: commands are off */
  quasarToken: z.string().min(QUASAR_TOKEN_MIN_LENGTH, `must be at least ${QUASAR_TOKEN_MIN_LENGTH} characters`).max(1024).optional(),
  /** path of a JSON or YAML alert rules file (--alerts, ZENITH_ALERTS); absent: the default rules */
  alertsFile: z.string().min(1).optional(),
  /**
   * how long a shutdown waits for alert writes in progress: a third of the 10 s a shutdown has,
   * the collector, requests and Redis connections need the rest
   */
  alertsDrainMs: duration.default(3_000),
  /**
   * how long a loop over the whole fleet (parsing heartbeats, queueing history writes) runs before
   * it hands the event loop back to waiting requests
   */
  loopSliceMs: duration.default(DEFAULT_SLICE_MS),
})

export type ZenithConfig = z.infer<typeof configSchema>
export type ZenithConfigInput = z.input<typeof configSchema>

export function parseConfig(input: ZenithConfigInput): ZenithConfig {
  return configSchema.parse(input)
}

/** One line naming the first bad setting, for stderr. */
export function describeConfigError(error: z.ZodError): string {
  const issue = error.issues[0]
  const field = issue?.path.join('.') || 'config'
  return `invalid ${field}: ${issue?.message ?? 'bad value'}`
}
