"""Work handed to a forked child so it runs on a second core beside this process."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable


def start(work: Callable[[], None]) -> int | None:
    """Run ``work()`` in a forked child; its pid, or None where no child can be had (no fork,
    one core, or no process left: the caller then does the work itself).

    The child leaves with ``os._exit`` (0 when ``work`` returned): no atexit handler, no
    buffer flushed twice, no warehouse connection closed under the parent. Fork with the
    objects that exist frozen (``gc.freeze``): the collector of either process would write in
    every page of the objects it walks, copying them all.
    """
    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return None
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's task handler
            work()
            code = 0
        finally:
            os._exit(code)
    return pid


def succeeded(pid: int) -> bool:
    """Wait for a child of ``start``; whether its work finished."""
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def stop(pid: int) -> None:
    """End a child of ``start`` whose work is no longer wanted, and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
