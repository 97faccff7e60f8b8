<?php
// A PHP agent written from PROTOCOL.md alone, with php-redis: one heartbeat, the queue snapshot of
// the Laravel queues it is told to watch, and one slow job, then it exits (run it every 10 s).
// Env: REDIS_HOST, REDIS_PORT, SERVICE, NODE_ID, LARAVEL_QUEUES (comma-separated), QUASAR_PREFIX.
$prefix = getenv('QUASAR_PREFIX') ?: 'gravito:quasar:';
$service = getenv('SERVICE') ?: 'php-app';
$nodeId = getenv('NODE_ID') ?: preg_replace('/[^A-Za-z0-9._-]/', '-', substr(gethostname(), 0, 64));
$redis = new Redis();
$redis->connect(getenv('REDIS_HOST') ?: '127.0.0.1', (int) (getenv('REDIS_PORT') ?: 6379), 2.0);

$nowMs = (int) floor(microtime(true) * 1000);
$cores = (int) trim((string) shell_exec('nproc')) ?: 1;
$meminfo = file_get_contents('/proc/meminfo');
preg_match('/MemTotal:\s+(\d+)/', $meminfo, $total);
preg_match('/MemAvailable:\s+(\d+)/', $meminfo, $available);
$memTotal = (int) $total[1] * 1024;
$memFree = (int) $available[1] * 1024;
$usage = memory_get_usage(true);

$beat = [
    'id' => $nodeId, 'service' => $service, 'language' => 'php', 'version' => PHP_VERSION,
    'pid' => getmypid(), 'hostname' => substr(gethostname(), 0, 256), 'platform' => strtolower(PHP_OS_FAMILY),
    'cpu' => ['system' => min(100, round(sys_getloadavg()[0] / $cores * 100, 2)), 'process' => 0, 'cores' => $cores],
    'memory' => [
        'system' => ['total' => $memTotal, 'free' => $memFree, 'used' => $memTotal - $memFree],
        'process' => ['rss' => $usage, 'heapTotal' => $usage, 'heapUsed' => memory_get_usage()],
    ],
    'runtime' => ['uptime' => 0, 'framework' => 'laravel 11'],
    'timestamp' => $nowMs,
    'disk' => ['path' => '/', 'total' => disk_total_space('/'), 'free' => disk_free_space('/')],
    'protocol' => 1,
];
$redis->set("{$prefix}node:{$service}:{$nodeId}", json_encode($beat), ['EX' => 30]);

// counts as Laravel's Redis driver keeps them (PROTOCOL.md, driver `laravel`)
$queues = [];
foreach (array_filter(explode(',', getenv('LARAVEL_QUEUES') ?: '')) as $name) {
    $queues[] = ['name' => $name, 'prefix' => '', 'driver' => 'laravel', 'metrics' => [
        'waiting' => $redis->lLen("queues:{$name}"),
        'active' => $redis->zCard("queues:{$name}:reserved"),
        'delayed' => $redis->zCard("queues:{$name}:delayed"),
    ]];
}
// the queues are read through the connection the snapshot is written to: the console's Redis
$snapshot = ['timestamp' => $nowMs, 'service' => $service, 'nodeId' => $nodeId, 'sharedRedis' => true, 'queues' => $queues];
$redis->set("{$prefix}queues:{$service}", json_encode($snapshot), ['EX' => 30]);

$redis->rawCommand('XADD', "{$prefix}slow:{$service}", 'MAXLEN', '~', '1000', '*',
    'kind', 'job', 'name', 'App\\Jobs\\SendInvoice', 'durationMs', '2300', 'timestamp', (string) $nowMs, 'nodeId', $nodeId);
