"""Files read on two cores: a forked helper's submissions are those this process would read."""

import os

from planstats.intake import read_submission
from planstats.intake.ahead import read_in_order

ENYANG = "511903"


def _files(ctx, make_workbook):
    folder = ctx.settings.inbox / ENYANG
    paths = [make_workbook(folder / f"{year}.xlsx", year=year) for year in (2021, 2022, 2023)]
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04broken")
    paths.insert(1, folder / "broken.xlsx")
    paths.insert(3, folder / "gone.xlsx")  # listed, then gone before it was read
    make_workbook(folder / "2024.xlsx", year=2024, overrides={"ZB0001": ("x", None, None)})
    return [*paths, folder / "2024.xlsx"]


def _reader(die_after: int | None = None):
    """read_submission, the reading process's pid noted in the submission; the helper dies
    (os._exit) when it is to read its file number ``die_after``."""
    parent, read = os.getpid(), []

    def read_one(path):
        if os.getpid() != parent:
            read.append(path)
            if len(read) == die_after:
                os._exit(3)
        sub = read_submission(path, ENYANG)
        sub.info["pid"] = str(os.getpid())
        return sub

    return read_one


def _facts(sub):
    return sub and (sub.path, sub.file_hash, sub.rows, [i.to_dict() for i in sub.issues])


def test_the_helpers_files_come_back_in_order_as_if_read_here(ctx, make_workbook):
    paths = _files(ctx, make_workbook)
    here = list(read_in_order(paths, _reader(), helper=False))
    both = list(read_in_order(paths, _reader(), helper=True))
    assert [_facts(s) for s in both] == [_facts(s) for s in here]
    assert here[3] is None and here[1].fatal and here[5].issues and not here[0].issues
    pids = [s and s.info["pid"] for s in both]
    assert pids[0::2] == [str(os.getpid())] * 3
    assert None not in (pids[1], pids[5]) and str(os.getpid()) not in (pids[1], pids[5])


def test_files_a_dead_helper_did_not_send_are_read_here(ctx, make_workbook):
    paths = _files(ctx, make_workbook)
    here = list(read_in_order(paths, _reader(), helper=False))
    both = list(read_in_order(paths, _reader(die_after=2), helper=True))
    assert [_facts(s) for s in both] == [_facts(s) for s in here]
    assert both[1].info["pid"] != str(os.getpid()) and both[5].info["pid"] == str(os.getpid())
