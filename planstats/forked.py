"""Work handed to a forked child so it runs on a second core beside this process."""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import pickle
import signal
from collections.abc import Callable, Iterator
from typing import IO, TypeVar

T = TypeVar("T")
PIPE_BYTES = 1 << 20  # a pipe's buffer where Linux allows it (64 KB by default)
_helper = False  # this process is a forked child of start
_beside = False  # a child of beside is running beside this process
_frozen = 0  # frozen() blocks open


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
        global _helper
        _helper, code = True, 1
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


_FAILED = object()
Beside = Callable[[Callable[[], T]], T]  # runs a picklable job elsewhere, meanwhile works here


def beside(work: Callable[[], T], meanwhile: Callable[[], None], fork: bool = True) -> T:
    """``work()`` in a forked child while ``meanwhile()`` runs here; work's result, sent back
    pickled through a pipe.

    One child at a time, none from a child: two cores are busy already, and each process more
    holds its own copy of what it writes (≈ 170 MB for a big plan's JSON). Where no child can
    be had (``fork`` False, one core, a child already beside), or the child failed or died,
    ``work()`` runs here after ``meanwhile()``: the result is the same either way, and an error
    of ``work`` is raised here as it would have been. The objects that exist are ``frozen``
    while the child runs. ``work`` must not use a connection this process holds (the child's
    copy would share it).
    """
    global _beside
    pid, stream = None, None
    with contextlib.ExitStack() as stack:
        if fork and not (_helper or _beside):
            stack.enter_context(frozen())
            fd_in, fd_out = os.pipe()

            def send() -> None:
                os.close(fd_in)
                with os.fdopen(fd_out, "wb") as out:
                    pickle.dump(work(), out, protocol=pickle.HIGHEST_PROTOCOL)

            pid = start(send)
            os.close(fd_out)
            if pid is None:
                os.close(fd_in)
            else:
                stream = stack.enter_context(os.fdopen(fd_in, "rb"))
        outer, _beside = _beside, _beside or pid is not None
        try:
            meanwhile()
        except BaseException:
            if pid is not None:  # the child's work is not wanted
                stop(pid)
            raise
        finally:
            _beside = outer
        result = _collect(stream, pid) if stream is not None else _FAILED
    return work() if result is _FAILED else result


@contextlib.contextmanager
def frozen() -> Iterator[None]:
    """The objects that exist now out of the garbage collector's walks (``gc.freeze``) for the
    block: a collection then scans only what is made later, and walks no page a forked child
    shares. Nested, only the outermost block thaws: thawing inside one would let the collector
    copy the pages of every object a child of the outer block still reads. (Counted here:
    ``gc.get_freeze_count`` walks every frozen object, ≈ 35 ms a call at 400 MB.)"""
    global _frozen
    _frozen += 1
    gc.freeze()
    try:
        yield
    finally:
        _frozen -= 1
        if not _frozen:
            gc.unfreeze()


def pipe() -> tuple[int, int]:
    """(read end, write end) of a pipe whose buffer holds PIPE_BYTES where Linux allows it, so
    a writer runs further ahead of its reader (the default is 64 KB)."""
    fd_in, fd_out = os.pipe()
    # not Linux, or above /proc/sys/fs/pipe-max-size: the default then
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(fd_out, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    return fd_in, fd_out


def _collect(stream: IO[bytes], pid: int) -> object:
    """The child's result once it has finished, or _FAILED."""
    try:
        result = pickle.load(stream)
    except Exception:  # EOFError: it died or failed before sending; a cut pickle
        result = _FAILED
    return result if succeeded(pid) else _FAILED


class Worker:
    """A forked process that runs jobs for this one, one at a time, each beside ``meanwhile``.

    Started at the first job and ended by ``close``: one fork serves a batch's many jobs (every
    fork costs the parent a page fault for each page it writes afterwards, ≈ 0.1 s a fork at
    400 MB). A job is a picklable callable (a ``functools.partial`` of a module function); it
    goes to the worker pickled, its result comes back pickled. Where the worker cannot be had
    or fails, the job runs here after ``meanwhile`` (an error of the job is raised here), and
    later jobs run here too.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.pid: int | None = None
        self._to: IO[bytes] | None = None
        self._back: IO[bytes] | None = None

    def run(self, job: Callable[[], T], meanwhile: Callable[[], None]) -> T:
        sent = self._started() and self._send(job)
        try:
            meanwhile()
        except BaseException:
            if sent:
                self.close()  # its answer would come after the next job was sent
            raise
        result = self._receive() if sent else _FAILED
        return job() if result is _FAILED else result  # type: ignore[return-value]

    def _started(self) -> bool:
        if self.pid is not None or not self.enabled:
            return self.pid is not None
        self.enabled = False  # one try: a worker that failed is not started again
        jobs_in, jobs_out = pipe()  # fewer round trips for a big job
        results_in, results_out = os.pipe()

        def serve() -> None:
            os.close(jobs_out)
            os.close(results_in)
            gc.freeze()  # what the parent had: its pages stay shared
            with os.fdopen(jobs_in, "rb") as jobs, os.fdopen(results_out, "wb") as results:
                while True:
                    try:
                        job = pickle.load(jobs)
                    except EOFError:
                        return
                    try:
                        answer = (True, job())
                    except Exception:  # run again here by the parent, which raises it
                        answer = (False, None)
                    pickle.dump(answer, results, protocol=pickle.HIGHEST_PROTOCOL)
                    results.flush()

        self.pid = start(serve)
        os.close(jobs_in)
        os.close(results_out)
        if self.pid is None:
            os.close(jobs_out)
            os.close(results_in)
            return False
        self._to, self._back = os.fdopen(jobs_out, "wb"), os.fdopen(results_in, "rb")
        return True

    def _send(self, job: Callable[[], object]) -> bool:
        try:
            pickle.dump(job, self._to, protocol=pickle.HIGHEST_PROTOCOL)  # type: ignore[arg-type]
            self._to.flush()  # type: ignore[union-attr]
            return True
        except (OSError, pickle.PicklingError):
            self.close()
            return False

    def _receive(self) -> object:
        try:
            done, result = pickle.load(self._back)  # type: ignore[arg-type]
        except Exception:  # EOFError: the worker died; a cut pickle
            done, result = False, None
        if not done:
            self.close()
            return _FAILED
        return result

    def close(self) -> None:
        """End the worker (its pipe closed: it leaves after the job it is on; then reaped)."""
        for stream in (self._to, self._back):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._to = self._back = None
        if self.pid is not None:
            stop(self.pid)
            self.pid = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
