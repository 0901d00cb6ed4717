"""Which process owns an open session: a session left open by a process that is gone was cut off
(a crash, kill -9) and is closed as `interrupted` on the next open; one whose owner still runs is
another coach's session under way, and is left alone. A pid alone is not enough (pids are
reused), so the owner is the boot id, the pid and the process's start time.
"""

from __future__ import annotations

import os
from pathlib import Path


def process_identity(pid: int) -> str | None:
    """boot id + pid + process start time: unique for a live process (None if it is gone)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
        start = stat.rsplit(")", 1)[1].split()[19]  # field 22: starttime
        return f"{boot}:{pid}:{start}"
    except (OSError, IndexError):
        pass
    try:  # no /proc: pid only
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return f"pid:{pid}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process an open session names as its owner is still this same process."""
    if not owner:
        return False
    try:
        pid = int(owner.split(":")[-2] if owner.count(":") >= 2 else owner.split(":")[-1])
    except ValueError:
        return False
    return process_identity(pid) == owner
