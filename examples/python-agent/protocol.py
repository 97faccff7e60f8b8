"""The parts of PROTOCOL.md an agent needs that are not about measuring: names, bounds, the queue
snapshot's shape and size, and checking a signed command."""
import hashlib
import hmac
import json
import re

NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
COMMAND_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
MIN_TOKEN_LENGTH = 16
MAX_VALUE_BYTES = 65536
MAX_COMMAND_BYTES = 8192
COMMAND_TTL_MS = 600_000
CLOCK_SKEW_MS = 300_000
COMMAND_TYPES = ("RETRY_JOB", "DELETE_JOB")


def node_name(raw):
    """A valid service or node name from any text (a hostname, a pod name plus a pid): other
    characters become '-'. Longer than 64, it keeps the first 55 characters and appends '-' and 8
    hex characters of the SHA-256 of the whole text, so two long names that share a beginning
    stay apart."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", raw) or "unknown"
    if len(cleaned) <= 64:
        return cleaned
    return cleaned[:55] + "-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:8]


def cut(text, limit):
    """Text cut to `limit` characters, ending with '…' when cut (PROTOCOL.md)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def failed_job_entry(job):
    """One `failedJobs` entry with every field inside its bound."""
    entry = {"id": job["id"], "name": cut(job.get("name", ""), 256), "attemptsMade": int(job.get("attempts", 0))}
    if job.get("failedReason"):
        entry["failedReason"] = cut(job["failedReason"], 2048)
    stack = job.get("stacktrace") or []
    if stack:
        entry["stacktrace"] = [cut(line, 8192) for line in stack[-10:]]  # oldest first, the latest last
    if job.get("failedAt") is not None:
        entry["timestamp"] = int(job["failedAt"])
    if job.get("data") is not None:
        entry["data"] = cut(job["data"], 4096)
    return entry


def encode_snapshot(snapshot):
    """The snapshot as JSON within 65,536 bytes: while it is too long, the oldest failed job of the
    longest list goes; counts are never dropped."""
    while True:
        text = json.dumps(snapshot, ensure_ascii=False, separators=(",", ":"))
        if len(text.encode("utf-8")) <= MAX_VALUE_BYTES:
            return text
        longest = max(snapshot["queues"], key=lambda queue: len(queue.get("failedJobs", [])), default=None)
        if longest is None or not longest.get("failedJobs"):
            return text  # nothing left to shorten: the console will skip it and say why
        longest["failedJobs"].pop()


def _command_key(token):
    return hmac.new(token.encode("utf-8"), b"quasar-commands-v1", hashlib.sha256).digest()


def sign(command, token):
    canonical = "\n".join(str(command[field]) for field in ("v", "id", "type", "service", "nodeId", "queue", "jobId", "issuedAt", "expiresAt"))
    return hmac.new(_command_key(token), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _well_formed(command):
    if not isinstance(command, dict):
        return False
    checks = (
        command.get("v") == 1 and _is_int(command.get("v")),
        isinstance(command.get("id"), str) and COMMAND_ID.match(command["id"]),
        isinstance(command.get("type"), str) and 1 <= len(command["type"]) <= 64,
        all(isinstance(command.get(field), str) and NAME.match(command[field]) for field in ("service", "nodeId", "queue")),
        isinstance(command.get("jobId"), str) and 1 <= len(command["jobId"]) <= 256,
        _is_int(command.get("issuedAt")) and _is_int(command.get("expiresAt")),
        isinstance(command.get("signature"), str) and SIGNATURE.match(command["signature"]),
    )
    return all(checks)


def check_command(raw, token, service, node_id, now):
    """PROTOCOL.md "Receiving", step 2, in its order. Returns (command, None) when it may run, or
    (None, (reason, id or None)): the id when it could be read, so the rejection can be written."""
    if not isinstance(raw, str) or len(raw.encode("utf-8")) > MAX_COMMAND_BYTES:
        return None, ("malformed command", None)
    try:
        command = json.loads(raw)
    except ValueError:
        return None, ("malformed command", None)
    if not _well_formed(command):
        found = command.get("id") if isinstance(command, dict) else None
        return None, ("malformed command", found if isinstance(found, str) and COMMAND_ID.match(found) else None)
    command_id = command["id"]
    if not token:
        return None, ("agent has no QUASAR_TOKEN; commands are disabled", command_id)
    if not hmac.compare_digest(sign(command, token), command["signature"]):
        return None, ("bad signature", command_id)
    if command["service"] != service or command["nodeId"] != node_id:
        return None, ("addressed to another node", command_id)
    if now > command["expiresAt"]:
        return None, ("expired", command_id)
    if command["expiresAt"] > now + COMMAND_TTL_MS + CLOCK_SKEW_MS:
        return None, ("expires too far in the future", command_id)
    if command["type"] not in COMMAND_TYPES:
        return None, (f"command type {cut(command['type'], 64)} is not allowed", command_id)
    return command, None
