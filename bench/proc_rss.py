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
