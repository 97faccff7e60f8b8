<?php
// What a PHP node measures for its heartbeat, from /proc (Linux).
//
// A node is one process that beats. PHP-FPM's workers live for a few requests each and cannot beat
// on a timer, so for PHP-FPM the node is the POOL on one host: this agent runs beside it, reports
// the pool master's pid and uptime, and sums CPU and memory over the master and its workers
// (FPM_PID_FILE names the master's pid file). Without FPM_PID_FILE the node is this PHP process
// itself (a long-running CLI: a queue worker, a daemon).
//
// CPU follows PROTOCOL.md: both percentages are shares of the WHOLE machine, 0 to 100.

final class Metrics
{
    private array $last;
    private int $cores;

    public function __construct(private ?int $poolMaster)
    {
        $this->cores = self::countCores();
        $this->last = $this->read();
    }

    private static function countCores(): int
    {
        return max(1, substr_count((string) file_get_contents('/proc/cpuinfo'), "\nprocessor") + 1);
    }

    /** The pids this node stands for: the pool master and its workers, or this process. */
    public function pids(): array
    {
        if ($this->poolMaster === null) {
            return [getmypid()];
        }
        $pids = [$this->poolMaster];
        foreach (glob('/proc/[0-9]*/stat') ?: [] as $file) {
            $fields = self::statFields((string) @file_get_contents($file));
            if ($fields !== null && (int) $fields[1] === $this->poolMaster) {
                $pids[] = (int) basename(dirname($file));
            }
        }
        return $pids;
    }

    public function pid(): int
    {
        return $this->poolMaster ?? getmypid();
    }

    /** The fields after the command name of /proc/PID/stat (state first); the name may hold spaces. */
    private static function statFields(string $stat): ?array
    {
        $close = strrpos($stat, ')');
        return $close === false ? null : preg_split('/\s+/', trim(substr($stat, $close + 1)));
    }

    private function read(): array
    {
        $cpu = preg_split('/\s+/', trim(strtok((string) file_get_contents('/proc/stat'), "\n")));
        $ticks = array_map('intval', array_slice($cpu, 1, 8)); // user nice system idle iowait irq softirq steal
        $idle = $ticks[3] + $ticks[4];
        $processTicks = 0;
        foreach ($this->pids() as $pid) {
            $fields = self::statFields((string) @file_get_contents("/proc/{$pid}/stat"));
            if ($fields !== null) {
                $processTicks += (int) $fields[11] + (int) $fields[12]; // utime + stime
            }
        }
        return ['busy' => array_sum($ticks) - $idle, 'total' => array_sum($ticks), 'process' => $processTicks, 'wall' => hrtime(true)];
    }

    /** Only for a one-shot run: gives the first sample a window to measure. */
    public function settle(): void
    {
        usleep(250_000);
    }

    public function cpu(): array
    {
        $now = $this->read();
        [$last, $this->last] = [$this->last, $now];
        $total = $now['total'] - $last['total'];
        $wallSeconds = ($now['wall'] - $last['wall']) / 1e9;
        $clockTicks = 100; // USER_HZ: /proc reports CPU time in 1/100 s on every Linux architecture
        $system = $total > 0 ? 100 * ($now['busy'] - $last['busy']) / $total : 0;
        // a worker that exits between two samples takes its ticks along: never below 0
        $process = $wallSeconds > 0 ? 100 * max(0, $now['process'] - $last['process']) / $clockTicks / ($wallSeconds * $this->cores) : 0;
        return ['system' => self::percent($system), 'process' => self::percent($process), 'cores' => $this->cores];
    }

    private static function percent(float $value): float
    {
        return round(max(0.0, min(100.0, $value)), 2);
    }

    /** Machine memory; `free` is MemAvailable, so `used` leaves out the page cache. */
    public static function systemMemory(): array
    {
        preg_match_all('/^(\w+):\s+(\d+) kB/m', (string) file_get_contents('/proc/meminfo'), $matches);
        $info = array_combine($matches[1], $matches[2]);
        $total = (int) $info['MemTotal'] * 1024;
        $free = (int) ($info['MemAvailable'] ?? $info['MemFree']) * 1024;
        return ['total' => $total, 'free' => $free, 'used' => max(0, $total - $free)];
    }

    /**
     * Resident memory summed over the node's processes. The heap is the Zend memory manager's:
     * what it took from the system and what is in use. For a pool it cannot be seen from outside
     * the workers, so it is 0 (PROTOCOL.md: 0 when not measured).
     */
    public function processMemory(): array
    {
        $rss = 0;
        foreach ($this->pids() as $pid) {
            $statm = explode(' ', (string) @file_get_contents("/proc/{$pid}/statm"));
            $rss += (int) ($statm[1] ?? 0) * 4096; // resident pages; 4 KiB on x86-64 and most arm64 kernels
        }
        $own = $this->poolMaster === null;
        return ['rss' => $rss, 'heapTotal' => $own ? memory_get_usage(true) : 0, 'heapUsed' => $own ? memory_get_usage() : 0];
    }

    /** Seconds since the node's process started (the pool master's, for a pool). */
    public function uptimeSeconds(): float
    {
        $fields = self::statFields((string) @file_get_contents("/proc/{$this->pid()}/stat"));
        $bootSeconds = (float) explode(' ', (string) file_get_contents('/proc/uptime'))[0];
        return $fields === null ? 0.0 : max(0.0, round($bootSeconds - (int) $fields[19] / 100, 3));
    }

    public static function disk(string $path = '/'): array
    {
        return ['path' => $path, 'total' => (int) disk_total_space($path), 'free' => (int) disk_free_space($path)];
    }
}
