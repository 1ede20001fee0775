"""Files read on two cores: a forked helper's submissions are those this process would read."""

import os

from planstats.intake import read_submission
from planstats.intake.ahead import read_in_order

ENYANG = "511903"


def _files(ctx, make_workbook):
    """A CSV (read here), then six workbooks: the helper reads broken.xlsx, gone.xlsx (listed,
    then gone before it was read) and 2024.xlsx."""
    folder = ctx.settings.inbox / ENYANG
    paths = [make_workbook(folder / f"{year}.xlsx", year=year) for year in (2021, 2022, 2023)]
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04broken")
    paths.insert(1, folder / "broken.xlsx")
    paths.insert(3, folder / "gone.xlsx")
    paths.append(make_workbook(folder / "2024.xlsx", year=2024,
                               overrides={"ZB0001": ("x", None, None)}))
    csv = folder / "2025.csv"
    csv.write_text("行政区划代码,统计年度,指标代码,本年值,分子,分母,说明\n"
                   f"{ENYANG},2025,ZB0001,95,19,20,\n", encoding="utf-8")
    return [csv, *paths]


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
    here = list(read_in_order(paths, _reader(), min_workbooks=0))
    both = list(read_in_order(paths, _reader(), min_workbooks=6))
    assert [_facts(s) for s in both] == [_facts(s) for s in here]
    assert here[4] is None and here[2].fatal and here[6].issues and not here[1].issues
    assert here[0].kind == "csv" and here[0].rows
    pids = [s and s.info["pid"] for s in both]
    assert [pids[i] for i in (0, 1, 3, 5)] == [str(os.getpid())] * 4
    assert None not in (pids[2], pids[6]) and str(os.getpid()) not in (pids[2], pids[6])
    fewer = list(read_in_order(paths, _reader(), min_workbooks=7))
    assert {s.info["pid"] for s in fewer if s} == {str(os.getpid())}


def test_files_a_dead_helper_did_not_send_are_read_here(ctx, make_workbook):
    paths = _files(ctx, make_workbook)
    here = list(read_in_order(paths, _reader(), min_workbooks=0))
    both = list(read_in_order(paths, _reader(die_after=2), min_workbooks=2))
    assert [_facts(s) for s in both] == [_facts(s) for s in here]
    assert both[2].info["pid"] != str(os.getpid()) and both[6].info["pid"] == str(os.getpid())
