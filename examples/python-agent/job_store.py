"""A small job queue kept in Redis, so this agent has something to report and to command. It
stands in for your queue system (RQ, Celery, your own): the agent's part is `counts`,
`failed_jobs`, `retry` and `delete`. Not a production queue: a job in flight when the process
dies is lost.

Layout (the same in examples/php-agent; see examples/README.md), for store prefix S and queue Q:
  S:Q:waiting   list of job ids; producers LPUSH, the worker RPOPs (oldest first)
  S:Q:jobs      hash, job id -> job JSON {id, name, data, attempts, createdAt, ...}
  S:Q:failed    sorted set of failed job ids, score = when it failed (epoch ms)
  S:Q:stats     hash of counters that only grow: completed, failed
  S:Q:ids       counter for new job ids
"""
import json
import time
import traceback

# Retry and delete act only on a job that is in the failed set, and do it in one step, so two
# commands for the same job (or a command racing the worker) cannot both act on it.
RETRY_SCRIPT = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[1])
return 1
"""
DELETE_SCRIPT = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


def now_ms():
    return int(time.time() * 1000)


class JobFailed(Exception):
    pass


def run_job(job):
    """Your job handlers go here. The demo rule: a job whose data has `failTimes: n` fails on its
    first n attempts with `data.error`; every other job succeeds."""
    data = json.loads(job.get("data") or "{}")
    if isinstance(data, dict) and job["attempts"] <= int(data.get("failTimes", 0)):
        raise JobFailed(str(data.get("error", "job failed")))


class JobStore:
    def __init__(self, redis, prefix, queue):
        self.redis = redis
        self.queue = queue
        self.key = lambda part: f"{prefix}:{queue}:{part}"

    def enqueue(self, name, data="{}"):
        job_id = str(self.redis.incr(self.key("ids")))
        job = {"id": job_id, "name": name, "data": data, "attempts": 0, "createdAt": now_ms()}
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.key("jobs"), job_id, json.dumps(job))
        pipe.lpush(self.key("waiting"), job_id)
        pipe.execute()
        return job_id

    def work(self, limit, on_finished):
        """Runs up to `limit` waiting jobs; `on_finished(job, duration_ms, error)` after each."""
        for _ in range(limit):
            job_id = self.redis.rpop(self.key("waiting"))
            if job_id is None:
                return
            raw = self.redis.hget(self.key("jobs"), job_id)
            if raw is None:
                continue  # deleted while it waited
            job = json.loads(raw)
            job["attempts"] += 1
            started = time.monotonic()
            try:
                run_job(job)
                error = None
            except Exception as failure:  # a job's failure is data, never the agent's crash
                error = failure
                job["failedReason"] = str(failure) or type(failure).__name__
                job["stacktrace"] = (job.get("stacktrace") or []) + ["".join(traceback.format_exception(failure))]
                job["failedAt"] = now_ms()
            duration_ms = round((time.monotonic() - started) * 1000, 1)
            pipe = self.redis.pipeline(transaction=True)
            if error is None:
                pipe.hdel(self.key("jobs"), job_id)
                pipe.hincrby(self.key("stats"), "completed", 1)
            else:
                pipe.hset(self.key("jobs"), job_id, json.dumps(job))
                pipe.zadd(self.key("failed"), {job_id: job["failedAt"]})
                pipe.hincrby(self.key("stats"), "failed", 1)
            pipe.execute()
            on_finished(job, duration_ms, error)

    def read(self, failed_page):
        """Counts, the age of the oldest waiting job and the newest failed jobs, in one round trip
        for the counts and one for the failed jobs' records."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.llen(self.key("waiting"))
        pipe.zcard(self.key("failed"))
        pipe.hmget(self.key("stats"), "completed", "failed")
        pipe.lindex(self.key("waiting"), -1)
        pipe.zrevrange(self.key("failed"), 0, failed_page - 1)
        waiting, failed, (completed_ever, failed_ever), oldest_id, failed_ids = pipe.execute()
        wanted = ([oldest_id] if oldest_id else []) + failed_ids
        records = self.redis.hmget(self.key("jobs"), wanted) if wanted else []
        oldest = records[0] if oldest_id else None
        jobs = [json.loads(raw) for raw in records[1 if oldest_id else 0 :] if raw is not None]
        oldest_age = max(0, now_ms() - json.loads(oldest)["createdAt"]) if oldest else None
        processed = int(completed_ever or 0) + int(failed_ever or 0)
        return {"waiting": waiting, "failed": failed, "processed": processed, "oldestWaitingMs": oldest_age, "failedJobs": jobs}

    def retry(self, job_id):
        return self.redis.eval(RETRY_SCRIPT, 2, self.key("failed"), self.key("waiting"), job_id) == 1

    def delete(self, job_id):
        return self.redis.eval(DELETE_SCRIPT, 2, self.key("failed"), self.key("jobs"), job_id) == 1
