/**
 * Writes Laravel and Horizon keys the way they write them, so the probe is tested against their
 * layout rather than against our reading of it:
 * - push, later and pop run Laravel's own Lua scripts (`Illuminate\Queue\LuaScripts`, 10.x to
 *   12.x), with the queue names `RedisQueue::getQueue` builds (`queues:{name}`);
 * - payloads have the fields of `Queue::createPayloadArray` + `RedisQueue::createPayloadArray`
 *   (`id`, `attempts`) + Horizon's `JobPayload::prepare` (`type`, `tags`, `pushedAt`);
 * - a failure is the pipeline of Horizon's `RedisJobRepository::failed` (ZADD with minus the
 *   microtime, HMSET of the job hash, EXPIREAT).
 * PHP clients prepend the connection prefix to every key; Horizon's connection uses its own.
 */
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'

const PUSH = `-- Push the job onto the queue...
redis.call('rpush', KEYS[1], ARGV[1])
-- Push a notification onto the "notify" queue...
redis.call('rpush', KEYS[2], 1)`

const LATER = `-- Push the job onto the delayed queue...
redis.call('zadd', KEYS[1], ARGV[1], ARGV[2])`

const POP = `-- Pop the first job off of the queue...
local job = redis.call('lpop', KEYS[1])
local reserved = false

if(job ~= false) then
    -- Increment the attempt count and place job on the reserved queue...
    reserved = cjson.decode(job)
    reserved['attempts'] = reserved['attempts'] + 1
    reserved = cjson.encode(reserved)
    redis.call('zadd', KEYS[2], ARGV[1], reserved)
    redis.call('lpop', KEYS[3])
end

return {job, reserved}`

/** PHP's `str_replace(',', '.', microtime(true))`: seconds with four decimals. */
export const microtime = (ms: number) => (ms / 1000).toFixed(4)

export interface LaravelPayload {
  uuid: string
  displayName: string
  job: string
  maxTries: number | null
  maxExceptions: number | null
  failOnTimeout: boolean
  backoff: unknown
  timeout: number | null
  retryUntil: number | null
  data: { commandName: string; command: string; batchId: null }
  createdAt: number
  id: string
  attempts: number
  type: string
  tags: string[]
  pushedAt: string
  [field: string]: unknown
}

export function payload(displayName: string, pushedAtMs: number, extra: Partial<LaravelPayload> = {}): LaravelPayload {
  const id = randomUUID()
  return {
    uuid: id,
    displayName,
    job: 'Illuminate\\Queue\\CallQueuedHandler@call',
    maxTries: null,
    maxExceptions: null,
    failOnTimeout: false,
    backoff: null,
    timeout: null,
    retryUntil: null,
    data: {
      commandName: displayName,
      command: `O:${displayName.length}:"${displayName}":1:{s:5:"order";i:42;}`,
      batchId: null,
    },
    createdAt: Math.floor(pushedAtMs / 1000),
    id,
    attempts: 0,
    type: 'job',
    tags: [],
    pushedAt: microtime(pushedAtMs),
    ...extra,
  }
}

export function laravelWriter(redis: Redis, options: { prefix?: string; horizonPrefix?: string } = {}) {
  const prefix = options.prefix ?? ''
  const horizon = options.horizonPrefix ?? 'laravel_horizon:'
  const queueKey = (queue: string) => `${prefix}queues:${queue}`
  return {
    push: (queue: string, job: LaravelPayload | string) => redis.eval(PUSH, 2, queueKey(queue), `${queueKey(queue)}:notify`, typeof job === 'string' ? job : JSON.stringify(job)),
    later: (queue: string, availableAtSeconds: number, job: LaravelPayload) => redis.eval(LATER, 1, `${queueKey(queue)}:delayed`, availableAtSeconds, JSON.stringify(job)),
    /** a worker reserving the next job until `expiresAtSeconds` */
    pop: async (queue: string, expiresAtSeconds: number) => (await redis.eval(POP, 3, queueKey(queue), `${queueKey(queue)}:reserved`, `${queueKey(queue)}:notify`, expiresAtSeconds)) as [string | null, string | null],
    /** Horizon recording a failure of `job` on `queue` at `atMs` */
    fail: async (queue: string, job: LaravelPayload, exception: string, atMs: number) => {
      const score = `-${microtime(atMs)}`
      await redis
        .pipeline()
        .zadd(`${horizon}failed_jobs`, score, job.id)
        .zadd(`${horizon}recent_failed_jobs`, score, job.id)
        .zrem(`${horizon}pending_jobs`, job.id)
        .zrem(`${horizon}completed_jobs`, job.id)
        .zrem(`${horizon}silenced_jobs`, job.id)
        .hmset(`${horizon}${job.id}`, {
          id: job.id,
          connection: 'redis',
          queue,
          name: job.displayName,
          status: 'failed',
          payload: JSON.stringify(job),
          exception,
          context: '',
          failed_at: microtime(atMs),
        })
        .expireat(`${horizon}${job.id}`, Math.floor(atMs / 1000) + 10080 * 60)
        .exec()
    },
    /** Horizon's MarkJobAsReserved (RedisJobRepository::reserved) */
    reserved: async (id: string, reservedPayload: string, atMs: number) => {
      await redis.hmset(`${horizon}${id}`, { status: 'reserved', payload: reservedPayload, updated_at: microtime(atMs), reserved_at: microtime(atMs) })
    },
    /**
     * Horizon's MarkJobAsComplete on JobDeleted (RedisJobRepository::completed): a retry updates its
     * entry in the parent's `retried_by`, found by the payload's id (`uuid`, else `id`). Returns
     * how many entries matched.
     */
    finish: async (job: LaravelPayload, failed: boolean, atMs: number) => {
      const id = job.uuid ?? job.id
      let matched = 0
      const parent = typeof job.retry_of === 'string' ? `${horizon}${job.retry_of}` : null
      const raw = parent ? await redis.hget(parent, 'retried_by') : null
      if (parent && raw) {
        const retries = (JSON.parse(raw) as { id: string; status: string }[]).map((retry) => {
          if (retry.id !== id) return retry
          matched++
          return { ...retry, status: failed ? 'failed' : 'completed' }
        })
        await redis.hset(parent, 'retried_by', JSON.stringify(retries))
      }
      await redis
        .pipeline()
        .zadd(`${horizon}completed_jobs`, `-${microtime(atMs)}`, id)
        .zrem(`${horizon}pending_jobs`, id)
        .hmset(`${horizon}${id}`, { status: 'completed', completed_at: microtime(atMs) })
        .expireat(`${horizon}${id}`, Math.floor(atMs / 1000) + 60 * 60)
        .exec()
      return matched
    },
    queueKey,
    horizonKey: (name: string) => `${horizon}${name}`,
  }
}

/** What PHP's `(string) $exception` looks like. */
export function phpException(message: string): string {
  return [
    `RuntimeException: ${message} in /var/www/app/Jobs/SendInvoice.php:42`,
    'Stack trace:',
    '#0 /var/www/vendor/laravel/framework/src/Illuminate/Container/BoundMethod.php(36): App\\Jobs\\SendInvoice->handle()',
    '#1 {main}',
  ].join('\n')
}
