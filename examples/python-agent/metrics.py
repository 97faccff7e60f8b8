"""What a Python process measures for its heartbeat, from /proc and the standard library only.

CPU follows PROTOCOL.md: both percentages are shares of the WHOLE machine, 0 to 100. psutil's
Process.cpu_percent() is per core (a process busy on 4 cores reads 400): divide it by the core
count before writing it, as `process_percent` does here.
"""
import os
import shutil
import sys
import time


def _clamp(value):
    return max(0.0, min(100.0, round(value, 2)))


def _machine_ticks():
    """(busy, total) jiffies of all cores since boot, from the first line of /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - idle, total


class CpuSampler:
    """CPU use between two samples. The first sample of a process compares against a reading
    taken when the sampler was made, so create it early (an agent that runs once waits a moment
    between the two, see `settle`)."""

    def __init__(self):
        self.cores = os.cpu_count() or 1
        self._last = self._read()

    def _read(self):
        busy, total = _machine_ticks()
        times = os.times()
        return {"busy": busy, "total": total, "process": times.user + times.system, "wall": time.monotonic()}

    def settle(self, seconds=0.25):
        """Only for a one-shot run: gives the first sample a window to measure."""
        time.sleep(seconds)

    def sample(self):
        now = self._read()
        last, self._last = self._last, now
        total = now["total"] - last["total"]
        wall = now["wall"] - last["wall"]
        system = 100.0 * (now["busy"] - last["busy"]) / total if total > 0 else 0.0
        # process seconds of CPU per wall second, over every core: 100 = the whole machine busy
        process = 100.0 * (now["process"] - last["process"]) / (wall * self.cores) if wall > 0 else 0.0
        return {"system": _clamp(system), "process": _clamp(process), "cores": self.cores}


def system_memory():
    """Machine memory in bytes. `free` is MemAvailable (what can be used without swapping), so
    `used` is what a person means by used, not the page cache."""
    info = {}
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            name, _, rest = line.partition(":")
            info[name] = int(rest.split()[0]) * 1024
    total = info["MemTotal"]
    free = info.get("MemAvailable", info.get("MemFree", 0))
    return {"total": total, "free": free, "used": max(0, total - free)}


def process_memory():
    """This process: resident set size from /proc/self/statm. CPython has no managed heap with a
    cheap total (its objects live in pymalloc arenas and malloc), so heapTotal and heapUsed are 0:
    PROTOCOL.md's rule for a runtime without one. Write tracemalloc's figures instead if your
    process already runs tracemalloc."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident_pages = int(statm.read().split()[1])
    return {"rss": resident_pages * os.sysconf("SC_PAGE_SIZE"), "heapTotal": 0, "heapUsed": 0}


def disk(path="/"):
    usage = shutil.disk_usage(path)
    return {"path": path, "total": usage.total, "free": usage.free}


def process_uptime_seconds():
    """Seconds since this process started: /proc/self/stat field 22 is the start in clock ticks
    after boot, /proc/uptime is now in seconds after boot."""
    with open("/proc/self/stat", encoding="ascii") as stat:
        # the command name (field 2) may hold spaces; the fields after its closing ')' are plain
        after_name = stat.read().rsplit(")", 1)[1].split()
    started = int(after_name[19]) / os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime", encoding="ascii") as uptime:
        now = float(uptime.read().split()[0])
    return max(0.0, round(now - started, 3))


def platform_name():
    return sys.platform  # "linux", "darwin", "win32": the same words Node uses
