"""A batch's files read on two cores: a forked helper reads about every other workbook and
sends each submission back through a pipe while this process reads the rest, all yielded in
order."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from planstats import forked
from planstats.intake.model import WORKBOOK_KINDS, Submission

Read = Callable[[Path], Submission]
# The helper's share of the workbooks. This process also checks each file's structure as it
# comes and unpickles the helper's (≈ 0.4 ms a file, against ≈ 3.5 ms to read one), so the two
# end together when the helper reads a little more than half: the bench's province-2025 (183
# workbooks) read in 0.36–0.38 s with 0.55, 0.37–0.46 s with every other one (this process
# ending ≈ 0.04 s after the helper).
HELPER_SHARE = 0.55
_ENDED = object()


def read_in_order(paths: Sequence[Path], read: Read,
                  min_workbooks: int) -> Iterator[Submission | None]:
    """Each path's submission in order (None: the file was gone before it was read).

    From ``min_workbooks`` workbooks (0: never), on a machine of several cores, a little more
    than every other workbook (HELPER_SHARE) is read by a forked child. CSV files are read
    here: unpickling their rows costs about what reading them does. If the child dies, or the
    pipe breaks, the files it did not send are read here, so a batch gets the same submissions
    either way. The child only reads files: moving them, the warehouse and the reports stay
    with this process. pipeline.ingest calls it with the objects of the batch's start frozen
    (``gc.freeze``), as forked.start asks.
    """
    books = [i for i, p in enumerate(paths) if p.suffix.lower().lstrip(".") in WORKBOOK_KINDS]
    # HELPER_SHARE of them, spread evenly (every other one were it a half)
    theirs = ({books[k] for k in range(len(books))
               if int((k + 1) * HELPER_SHARE) > int(k * HELPER_SHARE)}
              if 0 < min_workbooks <= len(books) else set())
    stream, pid = _start([paths[i] for i in sorted(theirs)], read) if theirs else (None, None)
    try:
        for index, path in enumerate(paths):
            if stream is not None and index in theirs:
                got = _receive(stream)
                if got is not _ENDED:
                    yield got
                    continue
                stream.close()
                stream = None
            yield _read(read, path)
    finally:
        if stream is not None:
            stream.close()
        if pid is not None:
            forked.stop(pid)


def _read(read: Read, path: Path) -> Submission | None:
    try:
        return read(path)
    except FileNotFoundError:
        return None


def _start(paths: Sequence[Path], read: Read) -> tuple[IO[bytes] | None, int | None]:
    fd_in, fd_out = forked.pipe()  # the helper reads ahead ≈ 80 province workbooks

    def send() -> None:
        os.close(fd_in)
        with os.fdopen(fd_out, "wb") as out:
            for path in paths:
                pickle.dump(_read(read, path), out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()  # each file as soon as it is read

    pid = forked.start(send)
    os.close(fd_out)
    if pid is None:
        os.close(fd_in)
        return None, None
    return os.fdopen(fd_in, "rb"), pid


def _receive(stream: IO[bytes]) -> Any:
    """The helper's next submission, or _ENDED once it stopped sending (a file it was
    reading when it died comes back cut short: that file is read here again)."""
    try:
        return pickle.load(stream)
    except Exception:  # EOFError, or an UnpicklingError of a cut pickle
        return _ENDED
