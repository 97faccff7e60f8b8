<?php
// The parts of PROTOCOL.md an agent needs that are not about measuring: names, bounds, the queue
// snapshot's size, and checking a signed command.

function nowMs(): int
{
    return (int) floor(microtime(true) * 1000);
}

final class Protocol
{
    public const NAME = '/^[A-Za-z0-9._-]{1,64}$/';
    public const COMMAND_ID = '/^[A-Za-z0-9_-]{8,64}$/';
    public const MIN_TOKEN_LENGTH = 16;
    public const MAX_VALUE_BYTES = 65536;
    public const MAX_COMMAND_BYTES = 8192;
    public const COMMAND_TTL_MS = 600000;
    public const CLOCK_SKEW_MS = 300000;
    public const COMMAND_TYPES = ['RETRY_JOB', 'DELETE_JOB'];

    /**
     * A valid service or node name from any text (a hostname, a pod name plus a pid): other
     * characters become '-'. Longer than 64, it keeps the first 55 characters and appends '-' and
     * 8 hex characters of the SHA-256 of the whole text, so long names that share a beginning stay apart.
     */
    public static function nodeName(string $raw): string
    {
        $cleaned = preg_replace('/[^A-Za-z0-9._-]/', '-', $raw) ?: 'unknown';
        return strlen($cleaned) <= 64 ? $cleaned : substr($cleaned, 0, 55) . '-' . substr(hash('sha256', $raw), 0, 8);
    }

    /** Characters, not bytes, as the protocol counts them (iconv ships with php-cli; mbstring may not). */
    public static function length(string $text): int
    {
        return iconv_strlen($text, 'UTF-8') ?: strlen($text); // not UTF-8: count bytes, json_encode substitutes
    }

    /** Text cut to $limit characters, ending with '…' when cut. */
    public static function cut(string $text, int $limit): string
    {
        if (self::length($text) <= $limit) {
            return $text;
        }
        $head = iconv_substr($text, 0, $limit - 1, 'UTF-8');
        return ($head === false ? substr($text, 0, $limit - 1) : $head) . "\u{2026}";
    }

    /** One `failedJobs` entry with every field inside its bound. */
    public static function failedJobEntry(array $job): array
    {
        $entry = ['id' => (string) $job['id'], 'name' => self::cut((string) ($job['name'] ?? ''), 256), 'attemptsMade' => (int) ($job['attempts'] ?? 0)];
        if (($job['failedReason'] ?? '') !== '') {
            $entry['failedReason'] = self::cut((string) $job['failedReason'], 2048);
        }
        $stack = array_slice($job['stacktrace'] ?? [], -10); // oldest first, the latest last
        if ($stack !== []) {
            $entry['stacktrace'] = array_map(fn ($line) => self::cut((string) $line, 8192), $stack);
        }
        if (isset($job['failedAt'])) {
            $entry['timestamp'] = (int) $job['failedAt'];
        }
        if (isset($job['data'])) {
            $entry['data'] = self::cut((string) $job['data'], 4096);
        }
        return $entry;
    }

    /** The snapshot as JSON within 65,536 bytes: the oldest failed job of the longest list goes first; counts never. */
    public static function encodeSnapshot(array $snapshot): string
    {
        while (true) {
            $json = json_encode($snapshot, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
            if (strlen($json) <= self::MAX_VALUE_BYTES) {
                return $json;
            }
            $longest = null;
            foreach ($snapshot['queues'] as $i => $queue) {
                if (count($queue['failedJobs'] ?? []) > count($snapshot['queues'][$longest]['failedJobs'] ?? [])) {
                    $longest = $i;
                }
            }
            if ($longest === null) {
                return $json; // nothing left to shorten: the console will skip it and say why
            }
            array_pop($snapshot['queues'][$longest]['failedJobs']);
        }
    }

    public static function sign(array $command, string $token): string
    {
        $key = hash_hmac('sha256', 'quasar-commands-v1', $token, true);
        $fields = ['v', 'id', 'type', 'service', 'nodeId', 'queue', 'jobId', 'issuedAt', 'expiresAt'];
        return hash_hmac('sha256', implode("\n", array_map(fn ($field) => (string) $command[$field], $fields)), $key);
    }

    private static function wellFormed(mixed $c): bool
    {
        $int = fn ($value) => is_int($value) && $value >= 0;
        $name = fn ($value) => is_string($value) && preg_match(self::NAME, $value) === 1;
        return is_array($c)
            && ($c['v'] ?? null) === 1
            && is_string($c['id'] ?? null) && preg_match(self::COMMAND_ID, $c['id']) === 1
            && is_string($c['type'] ?? null) && strlen($c['type']) >= 1 && strlen($c['type']) <= 64
            && $name($c['service'] ?? null) && $name($c['nodeId'] ?? null) && $name($c['queue'] ?? null)
            && is_string($c['jobId'] ?? null) && $c['jobId'] !== '' && self::length($c['jobId']) <= 256
            && $int($c['issuedAt'] ?? null) && $int($c['expiresAt'] ?? null)
            && is_string($c['signature'] ?? null) && preg_match('/^[0-9a-f]{64}$/', $c['signature']) === 1;
    }

    /**
     * PROTOCOL.md "Receiving", step 2, in its order. Returns ['ok' => true, 'command' => …] or
     * ['ok' => false, 'reason' => …, 'id' => id or null]: the id when it could be read.
     */
    public static function checkCommand(mixed $raw, ?string $token, string $service, string $nodeId, int $now): array
    {
        $command = is_string($raw) && strlen($raw) <= self::MAX_COMMAND_BYTES ? json_decode($raw, true, 8) : null;
        if (!self::wellFormed($command)) {
            $id = is_array($command) && is_string($command['id'] ?? null) && preg_match(self::COMMAND_ID, $command['id']) ? $command['id'] : null;
            return ['ok' => false, 'reason' => 'malformed command', 'id' => $id];
        }
        $reject = fn (string $reason) => ['ok' => false, 'reason' => $reason, 'id' => $command['id']];
        return match (true) {
            $token === null => $reject('agent has no QUASAR_TOKEN; commands are disabled'),
            !hash_equals(self::sign($command, $token), $command['signature']) => $reject('bad signature'),
            $command['service'] !== $service || $command['nodeId'] !== $nodeId => $reject('addressed to another node'),
            $now > $command['expiresAt'] => $reject('expired'),
            $command['expiresAt'] > $now + self::COMMAND_TTL_MS + self::CLOCK_SKEW_MS => $reject('expires too far in the future'),
            !in_array($command['type'], self::COMMAND_TYPES, true) => $reject('command type ' . self::cut($command['type'], 64) . ' is not allowed'),
            default => ['ok' => true, 'command' => $command],
        };
    }
}
