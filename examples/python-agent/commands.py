"""Signed commands from the console (PROTOCOL.md "Commands"): read the node's stream, check each
entry, claim it so it runs at most once, run it on the job store, write the result."""
import json
import sys
import time

from protocol import COMMAND_TTL_MS, CLOCK_SKEW_MS, check_command, cut
from job_store import now_ms

RESULT_TTL_SECONDS = 86400
PAGE = 50
PER_SECOND = 10  # a "retry all failed" reaches the workers as a trickle


def log(message):
    print(f"quasar-agent: {message}", file=sys.stderr, flush=True)


class CommandReader:
    def __init__(self, redis, keys, service, node_id, token, stores):
        self.redis = redis
        self.keys = keys
        self.service = service
        self.node_id = node_id
        self.token = token
        self.stores = stores  # queue name -> JobStore
        # anything older than a command's life plus the clock skew has expired: start there
        self.cursor = f"{now_ms() - COMMAND_TTL_MS - CLOCK_SKEW_MS}-0"
        # command id -> (stream entry id, expiresAt) of what this process claimed: a copy is refused
        # even if someone deleted the cmdseen key in Redis
        self.claimed = {}

    def read_new(self):
        """Everything after the cursor, a page at a time. `XRANGE (` (exclusive start) needs
        Redis 6.2 or later."""
        stream = self.keys["command_stream"]
        while True:
            page = self.redis.xrange(stream, f"({self.cursor}", "+", count=PAGE)
            for entry_id, fields in page:
                self.handle(entry_id, fields.get("command"))
                self.cursor = entry_id
            if len(page) < PAGE:
                return

    def handle(self, entry_id, raw):
        command, rejection = check_command(raw, self.token, self.service, self.node_id, now_ms())
        if rejection:
            reason, command_id = rejection
            log(f"command rejected ({entry_id}): {reason}")
            if command_id:
                self.write_result(command_id, "rejected", reason)
            return
        now = now_ms()
        self.claimed = {cid: c for cid, c in self.claimed.items() if c[1] + CLOCK_SKEW_MS >= now}
        remembered = self.claimed.get(command["id"])
        if remembered is not None:
            if remembered[0] != entry_id:
                log(f"command rejected ({entry_id}): replayed")
                self.write_result(command["id"], "rejected", "replayed")
            return
        seen_key = self.keys["command_seen"](command["id"])
        if not self.redis.set(seen_key, entry_id, nx=True, ex=RESULT_TTL_SECONDS):
            if self.redis.get(seen_key) == entry_id:
                return  # this very entry was handled by an earlier run: nothing to do
            log(f"command rejected ({entry_id}): replayed")
            self.write_result(command["id"], "rejected", "replayed")
            return
        self.claimed[command["id"]] = (entry_id, command["expiresAt"])
        time.sleep(1 / PER_SECOND)
        if now_ms() > command["expiresAt"]:  # it may have expired while it waited its turn
            self.write_result(command["id"], "rejected", "expired")
            return
        status, reason = self.execute(command)
        self.write_result(command["id"], status, reason)

    def execute(self, command):
        store = self.stores.get(command["queue"])
        if store is None:
            return "rejected", f"queue {command['queue']} is not monitored by this node"
        try:
            done = store.retry(command["jobId"]) if command["type"] == "RETRY_JOB" else store.delete(command["jobId"])
        except Exception as error:  # a Redis error while doing it is a failure, with its reason
            return "failed", cut(str(error).replace("\n", " "), 512)
        return ("ok", None) if done else ("failed", cut(f"job {command['jobId']} is not failed", 512))

    def write_result(self, command_id, status, reason):
        result = {"id": command_id, "status": status, "service": self.service, "nodeId": self.node_id, "finishedAt": now_ms()}
        if reason:
            result["reason"] = cut(reason.replace("\n", " "), 512)
        # a rejection never overwrites a result: a forged copy must not spoil the real outcome
        self.redis.set(self.keys["command_result"](command_id), json.dumps(result), ex=RESULT_TTL_SECONDS, nx=status == "rejected")
