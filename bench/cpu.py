"""CPU seconds of the processes a benchmark drives, read from /proc (Linux): a figure that holds when other work
shares the machine, where wall-clock rates do not."""
from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def proc_table() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds so far: user + system, its reaped children's included)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), name, sum(int(x) for x in fields[11:15]) / _TICK)
    return table


def tree_cpu(root_pid: int, table: dict | None = None) -> float:
    """CPU seconds of a process and its direct children (a gunicorn master and its workers)."""
    table = proc_table() if table is None else table
    return sum(cpu for pid, (ppid, _name, cpu) in table.items() if pid == root_pid or ppid == root_pid)


def database_cpu(dbname: str, table: dict | None = None) -> float:
    """CPU seconds of the PostgreSQL backends connected to `dbname` (their title names it), others' not counted.
    A backend that ended meanwhile takes its CPU with it: keep connections open across the measure."""
    table = proc_table() if table is None else table
    total = 0.0
    for pid, (_ppid, name, cpu) in table.items():
        if not name.startswith("postgres"):
            continue
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b" ").decode(errors="replace")
        except OSError:
            continue
        if f" {dbname} " in title:
            total += cpu
    return total
