"""Writes finished-job records to a service's archive stream, as PROTOCOL.md ("Finished jobs")
describes, with redis-py: job data bounded and redacted before it leaves the process.

  echo '{"queue": "emails", "jobId": "42", "state": "failed", "attempt": 2, ...}' | python3 python-archive-writer.py

Each line of standard input is one record as JSON (numbers as numbers, `data`/`opts`/`result` as
any JSON value); each is checked, written with XADD and its entry id printed. A record missing a
required field is refused with the reason on standard error and the exit code 1.

Environment: REDIS_URL, QUASAR_PREFIX, SERVICE, NODE_ID (the default for a record's nodeId).
Call `write_record` from your own worker's "job finished" hook instead of reading stdin.
"""
import json
import os
import re
import socket
import sys

import redis

ARCHIVE_STREAM_MAXLEN = 50000
LIMITS = {"id": 256, "name": 256, "reason": 2048, "stack": 8192, "data": 16384, "opts": 4096, "result": 4096, "entry": 65536}
BOUNDS = {"depth": 8, "keys": 100, "items": 100, "text": 1024}
DEFAULT_REDACT_KEYS = ["password", "passwd", "token", "secret", "authorization", "cookie", "api_key", "apikey", "credit_card", "card_number"]
REDACTED = "[redacted]"
NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
STATES = ("completed", "failed")
TIME_FIELDS = ("addedAt", "startedAt", "durationMs", "waitMs")


def cut(text, limit, marker="…"):
    return text if len(text) <= limit else text[: limit - len(marker)] + marker


def bound_job_data(value, redact_keys=DEFAULT_REDACT_KEYS, max_chars=LIMITS["data"]):
    """JSON text of `value`, bounded (depth, width, string length) and redacted at any depth."""
    lowered = [key.lower() for key in redact_keys]

    def walk(node, depth):
        if node is None or isinstance(node, bool):
            return node
        if isinstance(node, (int, float)):
            return node if node == node and node not in (float("inf"), float("-inf")) else None
        if isinstance(node, str):
            return cut(node, BOUNDS["text"])
        if isinstance(node, (bytes, bytearray, memoryview)):
            return f"[binary {len(node)} bytes]"
        if depth >= BOUNDS["depth"]:
            return "[too deep]"
        if isinstance(node, (list, tuple)):
            out = [walk(item, depth + 1) for item in list(node)[: BOUNDS["items"]]]
            if len(node) > BOUNDS["items"]:
                out.append(f"[{len(node) - BOUNDS['items']} more items]")
            return out
        if isinstance(node, dict):
            out, kept = {}, 0
            for key in node:
                if kept >= BOUNDS["keys"]:
                    break
                name = str(key)
                if name == "__proto__":
                    continue
                out[cut(name, 128, "")] = REDACTED if any(secret in name.lower() for secret in lowered) else walk(node[key], depth + 1)
                kept += 1
            if len(node) > kept:
                out["_more"] = f"{len(node) - kept} more keys"
            return out
        return str(node)[: BOUNDS["text"]]

    text = json.dumps(walk(value, 0), ensure_ascii=False, separators=(",", ":"))
    if len(text) > max_chars:
        return json.dumps({"_truncated": True, "bytes": len(text.encode("utf-8"))}, separators=(",", ":"))
    return text


def record_fields(record, redact_keys=DEFAULT_REDACT_KEYS):
    """The flat field list for XADD; raises ValueError naming the first bad required field."""
    queue, job_id, state = record.get("queue"), record.get("jobId"), record.get("state")
    attempt, finished_at, node_id = record.get("attempt"), record.get("finishedAt"), record.get("nodeId")
    if not isinstance(queue, str) or not 1 <= len(queue) <= 512:
        raise ValueError("queue must be 1 to 512 characters")
    if job_id is None or not 1 <= len(str(job_id)) <= LIMITS["id"]:
        raise ValueError("jobId must be 1 to 256 characters")
    if state not in STATES:
        raise ValueError("state must be completed or failed")
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise ValueError("attempt must be a whole number from 1")
    if not isinstance(finished_at, (int, float)) or finished_at < 0:
        raise ValueError("finishedAt must be epoch milliseconds")
    if not isinstance(node_id, str) or not NAME.match(node_id):
        raise ValueError("nodeId must match ^[A-Za-z0-9._-]{1,64}$")
    fields = {"v": "1", "queue": queue, "jobId": str(job_id), "state": state, "attempt": str(attempt), "finishedAt": str(round(finished_at)), "nodeId": node_id}
    for name in TIME_FIELDS:
        value = record.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            fields[name] = str(round(value))
    for name, limit in (("name", LIMITS["name"]), ("failedReason", LIMITS["reason"]), ("stack", LIMITS["stack"]), ("appVersion", 128)):
        value = record.get(name)
        if isinstance(value, str) and value:
            fields[name] = cut(value, limit)
    if record.get("driver") in ("bullmq", "laravel", "redis-list", "other"):
        fields["driver"] = record["driver"]
    for name in ("data", "opts", "result"):
        if name in record:
            fields[name] = bound_job_data(record[name], redact_keys, LIMITS[name])
    return fields


def write_record(r, prefix, service, record, redact_keys=DEFAULT_REDACT_KEYS):
    """XADD one finished attempt; returns the entry id. Writing the same attempt twice is harmless."""
    return r.xadd(f"{prefix}archive:{service}", record_fields(record, redact_keys), maxlen=ARCHIVE_STREAM_MAXLEN, approximate=True)


def main():
    prefix = os.environ.get("QUASAR_PREFIX", "gravito:quasar:")
    service = os.environ.get("SERVICE", "python-app")
    if not NAME.match(service):
        print("SERVICE must match ^[A-Za-z0-9._-]{1,64}$", file=sys.stderr)
        return 2
    node_id = os.environ.get("NODE_ID") or cut(re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname()), 64, "")
    r = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"), decode_responses=True, socket_timeout=2)
    status = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            record.setdefault("nodeId", node_id)
            print(write_record(r, prefix, service, record))
        except (ValueError, redis.RedisError) as error:
            print(f"record refused: {error}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
