"""A Python agent written from PROTOCOL.md alone, with redis-py: one heartbeat, the queue snapshot
of one Redis list it owns (driver redis-list), and one slow request, then it exits (run it every
10 s). Env: REDIS_HOST, REDIS_PORT, SERVICE, NODE_ID, QUEUE_LIST, QUASAR_PREFIX."""
import json
import os
import platform
import re
import resource
import shutil
import socket
import time

import redis

prefix = os.environ.get("QUASAR_PREFIX", "gravito:quasar:")
service = os.environ.get("SERVICE", "python-app")
node_id = os.environ.get("NODE_ID") or re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:64]
queue_list = os.environ.get("QUEUE_LIST")
r = redis.Redis(host=os.environ.get("REDIS_HOST", "127.0.0.1"), port=int(os.environ.get("REDIS_PORT", "6379")), socket_timeout=2)

now_ms = int(time.time() * 1000)
cores = os.cpu_count() or 1
page = os.sysconf("SC_PAGE_SIZE")
mem_total = os.sysconf("SC_PHYS_PAGES") * page
mem_free = os.sysconf("SC_AVPHYS_PAGES") * page
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
disk = shutil.disk_usage("/")
beat = {
    "id": node_id, "service": service, "language": "python", "version": platform.python_version(),
    "pid": os.getpid(), "hostname": socket.gethostname()[:256], "platform": platform.system().lower(),
    "cpu": {"system": min(100.0, round(os.getloadavg()[0] / cores * 100, 2)), "process": 0, "cores": cores},
    "memory": {
        "system": {"total": mem_total, "free": mem_free, "used": mem_total - mem_free},
        "process": {"rss": rss, "heapTotal": rss, "heapUsed": rss},
    },
    "runtime": {"uptime": time.process_time()},
    "timestamp": now_ms,
    "disk": {"path": "/", "total": disk.total, "free": disk.free},
    "protocol": 1,
}
pipe = r.pipeline(transaction=False)
pipe.set(f"{prefix}node:{service}:{node_id}", json.dumps(beat), ex=30)
if queue_list:
    queues = [{"name": "tasks", "driver": "redis-list", "metrics": {"waiting": r.llen(queue_list), "active": None}}]
    snapshot = {"timestamp": now_ms, "service": service, "nodeId": node_id, "queues": queues}
    pipe.set(f"{prefix}queues:{service}", json.dumps(snapshot), ex=30)
pipe.xadd(f"{prefix}slow:{service}", {"kind": "request", "name": "GET /search", "durationMs": "1850",
          "timestamp": str(now_ms), "nodeId": node_id}, maxlen=1000, approximate=True)
pipe.execute()
