"""CPU time of each thread of another process, from Linux's ``/proc/PID/task/TID/``.

Thread CPU time rather than wall clock says what a thread itself spent, whatever else runs on a
shared machine. ``schedstat`` gives it in nanoseconds; ``stat``, the fallback, only in clock
ticks (10 ms), too coarse for the sub-second windows of a quick run (3 ticks for a whole window
of the event loop at 8 streams).
"""

from __future__ import annotations

import os
from pathlib import Path


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """User plus system CPU seconds of every thread of ``pid``; empty where /proc is missing."""
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        return {}
    tick = float(os.sysconf("SC_CLK_TCK"))
    found: dict[int, float] = {}
    for task in tasks.iterdir():
        try:
            found[int(task.name)] = int((task / "schedstat").read_text().split()[0]) / 1e9
            continue
        except (OSError, ValueError, IndexError):
            pass  # a kernel without schedstat, or the thread ended meanwhile
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        # The command name, in parentheses, may hold spaces: fields are counted after it.
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def busiest_other_thread(before: dict[int, float], after: dict[int, float], main: int) -> float:
    """CPU seconds, over a window, of the thread other than ``main`` that spent the most."""
    spent = [after[tid] - before.get(tid, 0.0) for tid in after if tid != main]
    return max(spent, default=0.0)
