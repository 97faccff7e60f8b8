<?php
// A small job queue kept in Redis, so this agent has something to report and to command. It stands
// in for your queue system: the agent's part is `read`, `retry` and `delete`. Not a production
// queue: a job in flight when the process dies is lost.
//
// Layout (the same in examples/python-agent; see examples/README.md), for store prefix S, queue Q:
//   S:Q:waiting   list of job ids; producers LPUSH, the worker RPOPs (oldest first)
//   S:Q:jobs      hash, job id -> job JSON {id, name, data, attempts, createdAt, ...}
//   S:Q:failed    sorted set of failed job ids, score = when it failed (epoch ms)
//   S:Q:stats     hash of counters that only grow: completed, failed
//   S:Q:ids       counter for new job ids

final class JobFailed extends RuntimeException
{
}

final class JobStore
{
    // Retry and delete act only on a job in the failed set, in one step, so two commands for the
    // same job (or a command racing the worker) cannot both act on it.
    private const RETRY = "if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
        . "redis.call('LPUSH', KEYS[2], ARGV[1])\nreturn 1";
    private const DELETE = "if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
        . "redis.call('HDEL', KEYS[2], ARGV[1])\nreturn 1";

    public function __construct(private Redis $redis, private string $prefix, public readonly string $queue)
    {
    }

    private function key(string $part): string
    {
        return "{$this->prefix}:{$this->queue}:{$part}";
    }

    public function enqueue(string $name, string $data = '{}'): string
    {
        $id = (string) $this->redis->incr($this->key('ids'));
        $job = ['id' => $id, 'name' => $name, 'data' => $data, 'attempts' => 0, 'createdAt' => nowMs()];
        $this->redis->multi()
            ->hSet($this->key('jobs'), $id, json_encode($job))
            ->lPush($this->key('waiting'), $id)
            ->exec();
        return $id;
    }

    /** Your job handlers go here. The demo rule: a job whose data has `failTimes: n` fails on its first n attempts with `data.error`. */
    private static function run(array $job): void
    {
        $data = json_decode($job['data'] ?? '{}', true);
        if (is_array($data) && $job['attempts'] <= (int) ($data['failTimes'] ?? 0)) {
            throw new JobFailed((string) ($data['error'] ?? 'job failed'));
        }
    }

    /** Runs up to $limit waiting jobs; $onFinished($job, $durationMs, ?Throwable) after each. */
    public function work(int $limit, callable $onFinished): void
    {
        for ($i = 0; $i < $limit; $i++) {
            $id = $this->redis->rPop($this->key('waiting'));
            if ($id === false) {
                return;
            }
            $raw = $this->redis->hGet($this->key('jobs'), $id);
            if ($raw === false) {
                continue; // deleted while it waited
            }
            $job = json_decode($raw, true);
            $job['attempts']++;
            $started = hrtime(true);
            $error = null;
            try {
                self::run($job);
            } catch (Throwable $failure) { // a job's failure is data, never the agent's crash
                $error = $failure;
                $job['failedReason'] = $failure->getMessage() !== '' ? $failure->getMessage() : get_class($failure);
                $job['stacktrace'] = [...($job['stacktrace'] ?? []), get_class($failure) . ': ' . $failure->getMessage() . "\n" . $failure->getTraceAsString()];
                $job['failedAt'] = nowMs();
            }
            $durationMs = round((hrtime(true) - $started) / 1e6, 1);
            $tx = $this->redis->multi();
            if ($error === null) {
                $tx->hDel($this->key('jobs'), $id)->hIncrBy($this->key('stats'), 'completed', 1);
            } else {
                $tx->hSet($this->key('jobs'), $id, json_encode($job))->zAdd($this->key('failed'), $job['failedAt'], $id)->hIncrBy($this->key('stats'), 'failed', 1);
            }
            $tx->exec();
            $onFinished($job, $durationMs, $error);
        }
    }

    /** Counts, the oldest waiting job's age and the newest failed jobs: two round trips. */
    public function read(int $failedPage): array
    {
        [$waiting, $failed, $stats, $oldestId, $failedIds] = $this->redis->pipeline()
            ->lLen($this->key('waiting'))
            ->zCard($this->key('failed'))
            ->hMGet($this->key('stats'), ['completed', 'failed'])
            ->lIndex($this->key('waiting'), -1)
            ->zRevRange($this->key('failed'), 0, $failedPage - 1)
            ->exec();
        $wanted = array_values(array_filter([$oldestId === false ? null : $oldestId, ...$failedIds], 'is_string'));
        $records = $wanted === [] ? [] : $this->redis->hMGet($this->key('jobs'), $wanted);
        $oldest = $oldestId === false ? false : ($records[$oldestId] ?? false);
        $jobs = [];
        foreach ($failedIds as $id) {
            if (is_string($records[$id] ?? null)) {
                $jobs[] = json_decode($records[$id], true);
            }
        }
        return [
            'waiting' => $waiting,
            'failed' => $failed,
            'processed' => (int) ($stats['completed'] ?? 0) + (int) ($stats['failed'] ?? 0),
            'oldestWaitingMs' => $oldest === false ? null : max(0, nowMs() - json_decode($oldest, true)['createdAt']),
            'failedJobs' => $jobs,
        ];
    }

    public function retry(string $jobId): bool
    {
        return $this->redis->eval(self::RETRY, [$this->key('failed'), $this->key('waiting'), $jobId], 2) === 1;
    }

    public function delete(string $jobId): bool
    {
        return $this->redis->eval(self::DELETE, [$this->key('failed'), $this->key('jobs'), $jobId], 2) === 1;
    }
}
