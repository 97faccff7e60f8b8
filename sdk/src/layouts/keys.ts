/**
 * Key layouts of the queue systems that the agent watches and the console discovers. These keys
 * belong to the application, not to our protocol: they are written by BullMQ, Laravel and Horizon,
 * and built and parsed here, in one place, so a change in one of those layouts is a change to this
 * file. Queue names are the queue system's (spaces, unicode, `{high}`, `a:b`): keys are built from
 * them as they are, exactly as the queue system builds its own.
 */

/**
 * BullMQ 5/6 (`QueueKeys` in bullmq's queue-keys.js): `{prefix}:{queue}:{type}`. Job hashes are
 * `{prefix}:{queue}:{jobId}`. Since BullMQ 5 a paused queue keeps its jobs in `wait` and sets
 * `paused` in `meta`; the `paused` list is only filled by older versions.
 */
export function bullmqKeys(prefix: string, queue: string) {
  const base = `${prefix}:${queue}:`
  return {
    /** `{prefix}:{queue}:`, the prefix BullMQ's scripts prepend to job ids */
    base,
    wait: `${base}wait`,
    paused: `${base}paused`,
    active: `${base}active`,
    prioritized: `${base}prioritized`,
    /** priority counter, INCR'd for every prioritized add so equal priorities stay FIFO */
    priorityCounter: `${base}pc`,
    delayed: `${base}delayed`,
    failed: `${base}failed`,
    completed: `${base}completed`,
    /** flow parents waiting for their children (sorted set) */
    waitingChildren: `${base}waiting-children`,
    /** rate limiter: a counter whose expiry is the limit's window */
    limiter: `${base}limiter`,
    meta: `${base}meta`,
    events: `${base}events`,
    /** workers block on this sorted set (BZPOPMIN) instead of on `wait` since BullMQ 5 */
    marker: `${base}marker`,
    /** hashes kept by workers started with the `metrics` option; field `count` only grows */
    metricsCompleted: `${base}metrics:completed`,
    metricsFailed: `${base}metrics:failed`,
    job: (jobId: string) => `${base}${jobId}`,
  }
}

export type BullmqKeys = ReturnType<typeof bullmqKeys>

/** SCAN pattern for BullMQ's per-queue hash `{prefix}:{queue}:meta` */
export const BULLMQ_META_PATTERN = '*:meta'

/**
 * The prefix and queue of a `{prefix}:{queue}:meta` key. BullMQ refuses `:` in queue names, so the
 * last `:` before `meta` ends the prefix, whatever the prefix holds (`app:bull`, `{bull}`).
 */
export function parseBullmqMeta(key: string): { prefix: string; queue: string } | null {
  if (!key.endsWith(':meta')) return null
  const head = key.slice(0, -':meta'.length)
  const colon = head.lastIndexOf(':')
  if (colon <= 0 || colon === head.length - 1) return null
  return { prefix: head.slice(0, colon), queue: head.slice(colon + 1) }
}

/**
 * Laravel's Redis queue (`Illuminate\Queue\RedisQueue` and `LuaScripts`): `queues:{name}` is a list
 * of JSON payloads (RPUSH, LPOP), `:delayed` and `:reserved` are sorted sets scored by the Unix time
 * (seconds) the job becomes available or its reservation expires, and every push RPUSHes `1` onto
 * `:notify` so a blocking worker wakes. The connection's `prefix` option (stock Laravel:
 * `laravel_database_`) is prepended by the PHP Redis client to every key.
 */
export function laravelKeys(prefix: string, queue: string) {
  const list = `${prefix}queues:${queue}`
  return {
    list,
    delayed: `${list}:delayed`,
    reserved: `${list}:reserved`,
    notify: `${list}:notify`,
  }
}

export type LaravelKeys = ReturnType<typeof laravelKeys>

/** SCAN pattern for Laravel queue keys; it also matches protocol keys (`…:queues:{service}`), which callers tell apart first */
export const LARAVEL_PATTERN = '*queues:*'

/**
 * The prefix and queue of a Laravel queue key (`{prefix}queues:{queue}`, or that plus `:delayed`
 * or `:reserved`). The first `queues:` ends the prefix; the name may hold `:` and braces (`{high}`,
 * `a:b`). A `:notify` key finds no queue: it outlives the queue's jobs (Laravel pushes to it on
 * every add), so it would keep a drained queue on show. A name ending in `:delayed` or `:reserved`
 * reads as its base queue.
 */
export function parseLaravelKey(key: string): { prefix: string; queue: string } | null {
  const at = key.indexOf('queues:')
  if (at < 0 || key.endsWith(':notify')) return null
  let queue = key.slice(at + 'queues:'.length)
  for (const suffix of [':delayed', ':reserved']) {
    if (queue.endsWith(suffix)) {
      queue = queue.slice(0, -suffix.length)
      break
    }
  }
  return queue === '' ? null : { prefix: key.slice(0, at), queue }
}

/**
 * Horizon (`RedisJobRepository`): its own connection whose prefix replaces the database prefix
 * (`Horizon::use`, config `horizon.prefix`, stock `laravel_horizon:`). `failed_jobs` is a sorted set
 * of job ids scored by minus the failure time (microtime), so rank 0 is the newest; each job is a
 * hash at `{prefix}{id}` with `id connection queue name status payload exception failed_at
 * retried_by`. Horizon writes `masters` and `supervisors` while it runs. A pushed job is listed in
 * `recent_jobs` and `pending_jobs` (same scoring); `monitoring` is the set of monitored tags, and
 * each monitored tag a sorted set `{prefix}{tag}` of job ids scored by the push time.
 */
export function horizonKeys(prefix: string) {
  return {
    failedJobs: `${prefix}failed_jobs`,
    recentJobs: `${prefix}recent_jobs`,
    /** Horizon 5+: every completed job, scored by minus its completion time (microtime) */
    completedJobs: `${prefix}completed_jobs`,
    pendingJobs: `${prefix}pending_jobs`,
    monitoring: `${prefix}monitoring`,
    masters: `${prefix}masters`,
    supervisors: `${prefix}supervisors`,
    job: (id: string) => `${prefix}${id}`,
    tag: (tag: string) => `${prefix}${tag}`,
  }
}
