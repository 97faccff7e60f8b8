"""A Quasar agent in Python with redis-py, written from PROTOCOL.md: it reports this process
(heartbeat and node index), its job store's queues (counts and failed jobs) and its slow jobs,
all in one MULTI per beat, and runs the console's signed RETRY_JOB / DELETE_JOB commands on the
job store.

  python3 agent.py            beat every INTERVAL seconds; commands run as soon as they arrive
  python3 agent.py --once     one command pass, one work pass, one beat, then exit (for tests, cron)
  python3 agent.py --enqueue QUEUE NAME [DATA_JSON]   add a job to the store and print its id

Environment: REDIS_URL, QUASAR_PREFIX, SERVICE, NODE_ID, QUASAR_TOKEN, QUEUES (comma-separated),
JOB_STORE (key prefix of the job store), WORK_BATCH (jobs run per queue and pass; 0: report only),
INTERVAL (seconds), SLOW_MS (a job this slow is logged).
"""
import json
import os
import platform
import socket
import sys
import time

import redis

import metrics
from commands import CommandReader, log
from job_store import JobStore, now_ms
from protocol import MIN_TOKEN_LENGTH, NAME, encode_snapshot, failed_job_entry, node_name, cut

HEARTBEAT_TTL_SECONDS = 30
SLOW_MAXLEN = 1000
SLOW_BUFFER = 100  # slow entries kept between beats; the oldest go first
MAX_BEAT_AGE_MS = 2000  # a beat that could only be written later than this is stale: dropped
FAILED_PAGE = 50


class Agent:
    def __init__(self, env):
        self.prefix = env.get("QUASAR_PREFIX", "gravito:quasar:")
        self.service = env.get("SERVICE", "python-app")
        # a node is one process that beats: this one. Its pid keeps two agents on one host apart
        self.node_id = env.get("NODE_ID") or node_name(f"{socket.gethostname()}-{os.getpid()}")
        for label, name in (("SERVICE", self.service), ("NODE_ID", self.node_id)):
            if not NAME.match(name):
                raise SystemExit(f"{label} must match ^[A-Za-z0-9._-]{{1,64}}$, got {name!r}")
        token = env.get("QUASAR_TOKEN") or None
        if token and len(token) < MIN_TOKEN_LENGTH:
            log(f"QUASAR_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters; commands are disabled")
            token = None
        self.token = token
        # short timeouts: monitoring must never hang its host on a Redis that does not answer
        self.url = env.get("REDIS_URL", "redis://127.0.0.1:6379")
        self.redis = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)
        self.interval = float(env.get("INTERVAL", "10"))
        self.slow_ms = float(env.get("SLOW_MS", "1000"))
        self.work_batch = int(env.get("WORK_BATCH", "100"))
        store = env.get("JOB_STORE", f"jobs:{self.service}")
        self.stores = {name: JobStore(self.redis, store, name) for name in env.get("QUEUES", "default").split(",") if name}
        self.cpu = metrics.CpuSampler()
        self.slow = []
        p, s, n = self.prefix, self.service, self.node_id
        self.keys = {
            "node": f"{p}node:{s}:{n}",
            "index": f"{p}index:nodes:{s}",
            "queues": f"{p}queues:{s}",
            "slow": f"{p}slow:{s}",
            "command_stream": f"{p}cmd:{s}:{n}",
            "command_seen": lambda command_id: f"{p}cmdseen:{s}:{n}:{command_id}",
            "command_result": lambda command_id: f"{p}cmdres:{s}:{command_id}",
        }
        self.commands = CommandReader(self.redis, self.keys, self.service, self.node_id, self.token, self.stores)

    def record_slow(self, job, queue, duration_ms, error):
        if duration_ms < self.slow_ms:
            return
        # stream fields are strings; every text at most 256 characters (PROTOCOL.md, slow log)
        entry = {"kind": "job", "name": cut(job["name"], 256), "durationMs": str(duration_ms), "timestamp": str(now_ms()), "nodeId": self.node_id,
                 "queue": queue, "jobId": cut(job["id"], 256), "attempts": str(job["attempts"])}
        if error is not None:
            entry["error"] = cut(str(error).replace("\n", " "), 256)
        self.slow = (self.slow + [entry])[-SLOW_BUFFER:]

    def work(self):
        for name, store in self.stores.items():
            store.work(self.work_batch, lambda job, ms, error, queue=name: self.record_slow(job, queue, ms, error))

    def queue_entries(self):
        entries = []
        for name, store in self.stores.items():
            entry = {"name": name, "driver": "other"}
            try:
                state = store.read(FAILED_PAGE)
            except redis.RedisError as error:
                # counts not measured: say why instead of writing zeros as if they were true
                entries.append({**entry, "metrics": {"waiting": 0}, "error": cut(str(error).replace("\n", " "), 240)})
                continue
            # active is 0: this agent runs its jobs between beats, never during one
            entry["metrics"] = {"waiting": state["waiting"], "active": 0, "failed": state["failed"], "processed": state["processed"]}
            if state["oldestWaitingMs"] is not None:
                entry["oldestWaitingMs"] = state["oldestWaitingMs"]
            entry["failedJobs"] = [failed_job_entry(job) for job in state["failedJobs"] if len(job["id"]) <= 256]
            if self.token:
                entry["commands"] = ["RETRY_JOB", "DELETE_JOB"]  # what this node runs for the queue
            entries.append(entry)
        return entries

    def heartbeat(self, cpu, timestamp):
        return {
            "id": self.node_id, "service": self.service, "language": "python", "version": platform.python_version(),
            "pid": os.getpid(), "hostname": cut(socket.gethostname(), 256), "platform": metrics.platform_name(),
            "cpu": cpu,
            "memory": {"system": metrics.system_memory(), "process": metrics.process_memory()},
            "runtime": {"uptime": metrics.process_uptime_seconds(), "framework": f"redis-py {redis.__version__}"},
            "timestamp": timestamp,
            "disk": metrics.disk("/"),
            "queues": [{key: entry[key] for key in ("name", "driver", "metrics", "error") if key in entry} for entry in self.queues],
            "protocol": 1,
        }

    def beat(self):
        self.queues = self.queue_entries()
        cpu = self.cpu.sample()
        timestamp = now_ms()  # taken once everything is measured
        beat = self.heartbeat(cpu, timestamp)
        snapshot = {"timestamp": timestamp, "service": self.service, "nodeId": self.node_id, "queues": self.queues}
        pipe = self.redis.pipeline(transaction=True)  # MULTI ... EXEC: all of the beat, or none
        pipe.set(self.keys["node"], json.dumps(beat, separators=(",", ":")), ex=HEARTBEAT_TTL_SECONDS)
        pipe.zadd(self.keys["index"], {self.node_id: timestamp})
        pipe.set(self.keys["queues"], encode_snapshot(snapshot), ex=HEARTBEAT_TTL_SECONDS)
        for entry in self.slow:
            pipe.xadd(self.keys["slow"], entry, maxlen=SLOW_MAXLEN, approximate=True)
        if now_ms() - timestamp > MAX_BEAT_AGE_MS:
            log("beat dropped: it could not be written within 2 s of being measured")
            return
        pipe.execute()
        self.slow = []

    def once(self):
        self.cpu.settle()
        self.commands.read_new()
        self.work()
        self.beat()

    def run(self):
        """Beats forever. Between beats it blocks on the command stream (XREAD BLOCK), so a command
        runs as soon as it is added, without a pub/sub subscription; a Redis error costs one beat."""
        # a connection of its own for the blocking read, whose timeout must outlast the block
        blocking = redis.Redis.from_url(self.url, socket_timeout=self.interval + 5, socket_connect_timeout=2, decode_responses=True)
        next_beat = 0.0
        while True:
            try:
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.interval
                    self.commands.read_new()
                    self.work()
                    self.beat()
                wait_ms = max(1, int((next_beat - time.monotonic()) * 1000))
                if blocking.xread({self.keys["command_stream"]: self.commands.cursor}, count=1, block=wait_ms):
                    self.commands.read_new()
            except redis.RedisError as error:
                log(f"redis: {error}")
                time.sleep(min(self.interval, 2))


def main(argv):
    agent = Agent(os.environ)
    if argv[:1] == ["--enqueue"] and len(argv) >= 3:
        print(agent.stores[argv[1]].enqueue(argv[2], argv[3] if len(argv) > 3 else "{}"))
    elif argv[:1] == ["--once"]:
        try:
            agent.once()
        except redis.RedisError as error:
            log(f"redis: {error}")
            sys.exit(1)
    else:
        agent.run()


if __name__ == "__main__":
    main(sys.argv[1:])
