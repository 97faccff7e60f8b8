<?php
// A Quasar agent in PHP with php-redis, written from PROTOCOL.md: it reports its node (heartbeat
// and node index), its job store's queues (counts and failed jobs) and its slow jobs, all in one
// MULTI per beat, and runs the console's signed RETRY_JOB / DELETE_JOB commands on the job store.
//
//   php agent.php            beat every INTERVAL seconds; commands run as soon as they arrive
//   php agent.php --once     one command pass, one work pass, one beat, then exit (tests, cron)
//   php agent.php --enqueue QUEUE NAME [DATA_JSON]   add a job to the store and print its id
//
// Environment: REDIS_URL, QUASAR_PREFIX, SERVICE, NODE_ID, QUASAR_TOKEN, QUEUES (comma-separated),
// JOB_STORE (key prefix of the job store), WORK_BATCH (jobs run per queue and pass; 0: report only),
// INTERVAL (seconds), SLOW_MS (a job this slow is logged),
// FPM_PID_FILE (report a PHP-FPM pool as the node; see src/Metrics.php).

require __DIR__ . '/src/Protocol.php';
require __DIR__ . '/src/Metrics.php';
require __DIR__ . '/src/JobStore.php';
require __DIR__ . '/src/Commands.php';

const HEARTBEAT_TTL_SECONDS = 30;
const SLOW_MAXLEN = 1000;
const SLOW_BUFFER = 100; // slow entries kept between beats; the oldest go first
const MAX_BEAT_AGE_MS = 2000; // a beat that could only be written later than this is stale: dropped
const FAILED_PAGE = 50;

final class Agent
{
    public array $stores = [];
    private array $keys;
    private array $slow = [];
    private array $queues = [];
    private ?string $token;
    private Metrics $metrics;
    private Commands $commands;
    private string $service;
    private string $nodeId;
    private float $slowMs;
    private int $workBatch;
    public float $interval;

    public function __construct(public Redis $redis, array $env)
    {
        $prefix = $env['QUASAR_PREFIX'] ?? 'gravito:quasar:';
        $this->service = $env['SERVICE'] ?? 'php-app';
        $poolFile = $env['FPM_PID_FILE'] ?? null;
        $poolMaster = $poolFile ? (int) trim((string) file_get_contents($poolFile)) : null;
        $this->metrics = new Metrics($poolMaster);
        // a node is one process that beats (for PHP-FPM: the pool on this host), named after it
        $this->nodeId = $env['NODE_ID'] ?? Protocol::nodeName(gethostname() . '-' . ($poolMaster === null ? getmypid() : 'fpm-' . $poolMaster));
        foreach (['SERVICE' => $this->service, 'NODE_ID' => $this->nodeId] as $label => $name) {
            if (!preg_match(Protocol::NAME, $name)) {
                fwrite(STDERR, "{$label} must match ^[A-Za-z0-9._-]{1,64}\$, got " . json_encode($name) . "\n");
                exit(2);
            }
        }
        $token = ($env['QUASAR_TOKEN'] ?? '') !== '' ? $env['QUASAR_TOKEN'] : null;
        if ($token !== null && strlen($token) < Protocol::MIN_TOKEN_LENGTH) {
            logLine('QUASAR_TOKEN is shorter than ' . Protocol::MIN_TOKEN_LENGTH . ' characters; commands are disabled');
            $token = null;
        }
        $this->token = $token;
        $this->interval = (float) ($env['INTERVAL'] ?? 10);
        $this->slowMs = (float) ($env['SLOW_MS'] ?? 1000);
        $this->workBatch = (int) ($env['WORK_BATCH'] ?? 100);
        $store = $env['JOB_STORE'] ?? "jobs:{$this->service}";
        foreach (array_filter(explode(',', $env['QUEUES'] ?? 'default')) as $queue) {
            $this->stores[$queue] = new JobStore($redis, $store, $queue);
        }
        [$p, $s, $n] = [$prefix, $this->service, $this->nodeId];
        $this->keys = [
            'node' => "{$p}node:{$s}:{$n}",
            'index' => "{$p}index:nodes:{$s}",
            'queues' => "{$p}queues:{$s}",
            'slow' => "{$p}slow:{$s}",
            'commandStream' => "{$p}cmd:{$s}:{$n}",
            'commandSeen' => "{$p}cmdseen:{$s}:{$n}:", // + command id
            'commandResult' => "{$p}cmdres:{$s}:", // + command id
        ];
        $this->commands = new Commands($redis, $this->keys, $this->service, $this->nodeId, $this->token, $this->stores);
    }

    private function recordSlow(array $job, string $queue, float $durationMs, ?Throwable $error): void
    {
        if ($durationMs < $this->slowMs) {
            return;
        }
        // stream fields are strings; every text at most 256 characters (PROTOCOL.md, slow log)
        $entry = ['kind' => 'job', 'name' => Protocol::cut($job['name'], 256), 'durationMs' => (string) $durationMs, 'timestamp' => (string) nowMs(),
            'nodeId' => $this->nodeId, 'queue' => $queue, 'jobId' => Protocol::cut($job['id'], 256), 'attempts' => (string) $job['attempts']];
        if ($error !== null) {
            $entry['error'] = Protocol::cut(str_replace(["\r", "\n"], ' ', $error->getMessage()), 256);
        }
        $this->slow = array_slice([...$this->slow, $entry], -SLOW_BUFFER);
    }

    public function work(): void
    {
        foreach ($this->stores as $name => $store) {
            $store->work($this->workBatch, fn ($job, $ms, $error) => $this->recordSlow($job, $name, $ms, $error));
        }
    }

    private function queueEntries(): array
    {
        $entries = [];
        foreach ($this->stores as $name => $store) {
            $entry = ['name' => (string) $name, 'driver' => 'other'];
            try {
                $state = $store->read(FAILED_PAGE);
            } catch (RedisException $error) {
                // counts not measured: say why instead of writing zeros as if they were true
                $entries[] = $entry + ['metrics' => ['waiting' => 0], 'error' => Protocol::cut($error->getMessage(), 240)];
                continue;
            }
            // active is 0: this agent runs its jobs between beats, never during one
            $entry['metrics'] = ['waiting' => $state['waiting'], 'active' => 0, 'failed' => $state['failed'], 'processed' => $state['processed']];
            if ($state['oldestWaitingMs'] !== null) {
                $entry['oldestWaitingMs'] = $state['oldestWaitingMs'];
            }
            $listable = array_filter($state['failedJobs'], fn ($job) => strlen((string) $job['id']) <= 256);
            $entry['failedJobs'] = array_map([Protocol::class, 'failedJobEntry'], array_values($listable));
            if ($this->token !== null) {
                $entry['commands'] = Protocol::COMMAND_TYPES; // what this node runs for the queue
            }
            $entries[] = $entry;
        }
        return $entries;
    }

    private function heartbeat(array $cpu, int $timestamp): array
    {
        $short = fn (array $entry) => array_intersect_key($entry, array_flip(['name', 'driver', 'metrics', 'error']));
        return [
            'id' => $this->nodeId, 'service' => $this->service, 'language' => 'php', 'version' => PHP_VERSION,
            'pid' => $this->metrics->pid(), 'hostname' => Protocol::cut(gethostname(), 256), 'platform' => strtolower(PHP_OS_FAMILY),
            'cpu' => $cpu,
            'memory' => ['system' => Metrics::systemMemory(), 'process' => $this->metrics->processMemory()],
            'runtime' => ['uptime' => $this->metrics->uptimeSeconds(), 'framework' => 'php-redis ' . phpversion('redis')],
            'timestamp' => $timestamp,
            'disk' => Metrics::disk('/'),
            'queues' => array_map($short, $this->queues),
            'protocol' => 1,
        ];
    }

    public function beat(): void
    {
        $this->queues = $this->queueEntries();
        $cpu = $this->metrics->cpu();
        $timestamp = nowMs(); // taken once everything is measured
        $beat = json_encode($this->heartbeat($cpu, $timestamp), JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
        $snapshot = Protocol::encodeSnapshot(['timestamp' => $timestamp, 'service' => $this->service, 'nodeId' => $this->nodeId, 'queues' => $this->queues]);
        if (nowMs() - $timestamp > MAX_BEAT_AGE_MS) {
            logLine('beat dropped: it could not be written within 2 s of being measured');
            return;
        }
        $tx = $this->redis->multi(); // MULTI ... EXEC: all of the beat, or none
        $tx->set($this->keys['node'], $beat, ['EX' => HEARTBEAT_TTL_SECONDS])
            ->zAdd($this->keys['index'], $timestamp, $this->nodeId)
            ->set($this->keys['queues'], $snapshot, ['EX' => HEARTBEAT_TTL_SECONDS]);
        foreach ($this->slow as $entry) {
            $tx->xAdd($this->keys['slow'], '*', $entry, SLOW_MAXLEN, true);
        }
        $tx->exec();
        $this->slow = [];
    }

    public function once(): void
    {
        $this->metrics->settle();
        $this->commands->readNew();
        $this->work();
        $this->beat();
    }

    /**
     * Beats forever. Between beats it blocks on the command stream (XREAD BLOCK), so a command runs
     * as soon as it is added, without a pub/sub subscription; a Redis error costs one beat.
     */
    public function run(): void
    {
        $nextBeat = 0.0;
        while (true) {
            try {
                if (microtime(true) >= $nextBeat) {
                    $nextBeat = microtime(true) + $this->interval;
                    $this->commands->readNew();
                    $this->work();
                    $this->beat();
                }
                $waitMs = max(1, (int) (($nextBeat - microtime(true)) * 1000));
                $this->redis->setOption(Redis::OPT_READ_TIMEOUT, $waitMs / 1000 + 2); // outlasts the block
                $woken = $this->redis->xRead([$this->keys['commandStream'] => $this->commands->cursor], 1, $waitMs);
                $this->redis->setOption(Redis::OPT_READ_TIMEOUT, 2);
                if ($woken) {
                    $this->commands->readNew();
                }
            } catch (RedisException $error) {
                logLine("redis: {$error->getMessage()}");
                sleep((int) min($this->interval, 2));
                reconnect($this->redis);
            }
        }
    }
}

/** Short timeouts: monitoring must never hang its host on a Redis that does not answer. */
function connect(string $url): Redis
{
    $redis = new Redis();
    $GLOBALS['quasarRedisUrl'] = $url;
    reconnect($redis);
    return $redis;
}

function reconnect(Redis $redis): void
{
    $parts = parse_url($GLOBALS['quasarRedisUrl']);
    try {
        $redis->connect($parts['host'] ?? '127.0.0.1', (int) ($parts['port'] ?? 6379), 2.0);
        $redis->setOption(Redis::OPT_READ_TIMEOUT, 2);
        if (isset($parts['pass'])) {
            $redis->auth(isset($parts['user']) ? [urldecode($parts['user']), urldecode($parts['pass'])] : urldecode($parts['pass']));
        }
        $database = (int) ltrim($parts['path'] ?? '', '/');
        if ($database > 0) {
            $redis->select($database);
        }
    } catch (RedisException $error) {
        logLine("redis: {$error->getMessage()}");
    }
}

$args = array_slice($argv, 1);
try {
    $agent = new Agent(connect(getenv('REDIS_URL') ?: 'redis://127.0.0.1:6379'), getenv());
    if (($args[0] ?? '') === '--enqueue' && count($args) >= 3) {
        echo $agent->stores[$args[1]]->enqueue($args[2], $args[3] ?? '{}'), "\n";
    } elseif (($args[0] ?? '') === '--once') {
        $agent->once();
    } else {
        $agent->run();
    }
} catch (RedisException $error) {
    logLine("redis: {$error->getMessage()}");
    exit(1);
}
