<?php
// Signed commands from the console (PROTOCOL.md "Commands"): read the node's stream, check each
// entry, claim it so it runs at most once, run it on the job store, write the result.

function logLine(string $message): void
{
    fwrite(STDERR, "quasar-agent: {$message}\n");
}

final class Commands
{
    private const RESULT_TTL_SECONDS = 86400;
    private const PAGE = 50;
    private const PER_SECOND = 10; // a "retry all failed" reaches the workers as a trickle
    /** @var array<string, array{0: string, 1: int|float}> command id => [stream entry id, expiresAt] */
    private array $claimed = [];

    public string $cursor;

    /** @param array<string, JobStore> $stores queue name => store */
    public function __construct(private Redis $redis, private array $keys, private string $service, private string $nodeId, private ?string $token, private array $stores)
    {
        // anything older than a command's life plus the clock skew has expired: start there
        $this->cursor = (nowMs() - Protocol::COMMAND_TTL_MS - Protocol::CLOCK_SKEW_MS) . '-0';
    }

    /** Everything after the cursor, a page at a time. `XRANGE (` (exclusive start) needs Redis 6.2 or later. */
    public function readNew(): void
    {
        do {
            $page = $this->redis->xRange($this->keys['commandStream'], '(' . $this->cursor, '+', self::PAGE) ?: [];
            foreach ($page as $entryId => $fields) {
                $this->handle((string) $entryId, $fields['command'] ?? null);
                $this->cursor = (string) $entryId;
            }
        } while (count($page) === self::PAGE);
    }

    private function handle(string $entryId, mixed $raw): void
    {
        $check = Protocol::checkCommand($raw, $this->token, $this->service, $this->nodeId, nowMs());
        if (!$check['ok']) {
            logLine("command rejected ({$entryId}): {$check['reason']}");
            if ($check['id'] !== null) {
                $this->writeResult($check['id'], 'rejected', $check['reason']);
            }
            return;
        }
        $command = $check['command'];
        // what this process claimed is refused again even if someone deleted the cmdseen key
        $now = nowMs();
        $this->claimed = array_filter($this->claimed, fn (array $claim) => $claim[1] + Protocol::CLOCK_SKEW_MS >= $now);
        if (isset($this->claimed[$command['id']])) {
            if ($this->claimed[$command['id']][0] !== $entryId) {
                logLine("command rejected ({$entryId}): replayed");
                $this->writeResult($command['id'], 'rejected', 'replayed');
            }
            return;
        }
        $seenKey = $this->keys['commandSeen'] . $command['id'];
        if (!$this->redis->set($seenKey, $entryId, ['NX', 'EX' => self::RESULT_TTL_SECONDS])) {
            if ($this->redis->get($seenKey) === $entryId) {
                return; // this very entry was handled by an earlier run: nothing to do
            }
            logLine("command rejected ({$entryId}): replayed");
            $this->writeResult($command['id'], 'rejected', 'replayed');
            return;
        }
        $this->claimed[$command['id']] = [$entryId, $command['expiresAt']];
        usleep(intdiv(1_000_000, self::PER_SECOND));
        if (nowMs() > $command['expiresAt']) { // it may have expired while it waited its turn
            $this->writeResult($command['id'], 'rejected', 'expired');
            return;
        }
        [$status, $reason] = $this->execute($command);
        $this->writeResult($command['id'], $status, $reason);
    }

    private function execute(array $command): array
    {
        $store = $this->stores[$command['queue']] ?? null;
        if ($store === null) {
            return ['rejected', "queue {$command['queue']} is not monitored by this node"];
        }
        try {
            $done = $command['type'] === 'RETRY_JOB' ? $store->retry($command['jobId']) : $store->delete($command['jobId']);
        } catch (RedisException $error) { // a Redis error while doing it is a failure, with its reason
            return ['failed', $error->getMessage()];
        }
        return $done ? ['ok', null] : ['failed', "job {$command['jobId']} is not failed"];
    }

    private function writeResult(string $id, string $status, ?string $reason): void
    {
        $result = ['id' => $id, 'status' => $status, 'service' => $this->service, 'nodeId' => $this->nodeId, 'finishedAt' => nowMs()];
        if ($reason !== null) {
            $result['reason'] = Protocol::cut(str_replace(["\r", "\n"], ' ', $reason), 512);
        }
        // a rejection never overwrites a result: a forged copy must not spoil the real outcome
        $options = $status === 'rejected' ? ['NX', 'EX' => self::RESULT_TTL_SECONDS] : ['EX' => self::RESULT_TTL_SECONDS];
        $this->redis->set($this->keys['commandResult'] . $id, json_encode($result, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE), $options);
    }
}
