"""Peak resident memory of worker processes and of the work horses they fork, sampled from /proc."""
from __future__ import annotations

import os
import threading


def rss_kb(pid: int) -> int:
    """VmRSS of a process in kB (0 when it is gone or is a zombie)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def children(pid: int) -> list[int]:
    """Direct children of a process, from /proc/<pid>/task/*/children (scan of /proc if unavailable)."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return kids
    found_file = False
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found_file = True
                kids.extend(int(k) for k in fh.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    if found_file:
        return kids
    for entry in os.listdir("/proc"):  # kernel without CONFIG_PROC_CHILDREN
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read()
                if int(stat[stat.rindex(b")") + 2:].split()[1]) == pid:
                    kids.append(int(entry))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
    return kids


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for kid in children(todo.pop()):
            out.append(kid)
            todo.append(kid)
    return out


class RssSampler(threading.Thread):
    """Every `interval` seconds, the RSS of each worker and of each of its descendants (work horses, and the
    scheduler process RQ forks); keeps the peak of the worker itself and of its children, per worker."""

    def __init__(self, pids: list[int], interval: float = 0.2):
        super().__init__(daemon=True)
        self.pids = list(pids)
        self.interval = interval
        self.peak_worker = {pid: 0 for pid in pids}
        self.peak_children = {pid: 0 for pid in pids}
        self.children_seen = {pid: set() for pid in pids}
        self.samples = 0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        for pid in self.pids:
            self.peak_worker[pid] = max(self.peak_worker[pid], rss_kb(pid))
            for kid in descendants(pid):
                self.children_seen[pid].add(kid)
                self.peak_children[pid] = max(self.peak_children[pid], rss_kb(kid))
        self.samples += 1

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def peak_mb(self, pid: int) -> float:
        return max(self.peak_worker[pid], self.peak_children[pid]) / 1024


_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return stat[stat.rindex(b")") + 2:].split()  # fields from the 3rd (state) on


def parent_pid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def tree_cpu_seconds(pid: int) -> float:
    """CPU (user + system) of a process, of its reaped children, and of its live children so far: the
    difference of two readings is the CPU the process tree used in between, children born and gone included."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    for kid in children(pid):
        kid_fields = _stat_fields(kid)
        if kid_fields is not None:
            ticks += int(kid_fields[11]) + int(kid_fields[12])
    return ticks / _TICK


def own_cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / _TICK if fields else 0.0


def system_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the host since boot, all CPUs, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(x) for x in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / _TICK, sum(values[:8]) / _TICK
