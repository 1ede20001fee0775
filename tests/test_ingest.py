"""The landing zone end to end in one process: load, archive, quarantine, no-op, supersede."""

import shutil

from sqlalchemy import text

from planstats import pipeline
from tests.conftest import good_values

ENYANG = "511903"


def count(ctx, sql: str, **params) -> int:
    with ctx.warehouse.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_ingest_loads_good_files_and_quarantines_bad_ones(ctx, make_workbook):
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "2023.xlsx", year=2023)
    make_workbook(folder / "2023-bad.xlsx", year=2023, overrides={"ZB0001": (150, 1, 1)})
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04broken")
    outcomes = {o["file"].rsplit("/", 1)[-1]: o for o in pipeline.ingest(ctx=ctx)}
    assert {k: o["status"] for k, o in outcomes.items()} == {
        "2023.xlsx": "accepted", "2023-bad.xlsx": "rejected", "broken.xlsx": "rejected"}
    assert count(ctx, "select count(*) from fact_value") == len(good_values(ctx, ENYANG, 2023))
    assert count(ctx, "select count(*) from submission where status = 'rejected'") == 2
    assert count(ctx, "select count(*) from submission where is_current = 1") == 1
    assert not list(folder.glob("*.xlsx")), "every file left the inbox"
    archived = list((ctx.settings.archive / "2023" / ENYANG).glob("*_2023.xlsx"))
    quarantined = sorted(p.name for p in ctx.settings.quarantine.rglob("*.xlsx"))
    marked = [name for name in quarantined if name.endswith(".批注.xlsx")]
    assert len(archived) == 1 and len(quarantined) - len(marked) == 2
    assert [name.split("_", 1)[1] for name in marked] == ["2023-bad.xlsx.批注.xlsx"]
    assert archived[0].with_name(archived[0].name + ".report.html").exists()
    receipts = sorted(p.name for p in (folder / pipeline.RECEIPTS).iterdir())
    assert receipts == ["2023-bad.审核报告.html", "2023-bad.批注.xlsx", "2023.审核报告.html",
                        "broken.审核报告.html", "broken.问题清单.csv"]
    index = (ctx.settings.reports / "2023" / "index.html").read_text(encoding="utf-8")
    assert "退回" in index and "通过" in index


def test_same_bytes_twice_is_a_no_op_and_a_change_supersedes_keeping_history(ctx, make_workbook,
                                                                            tmp_path):
    folder = ctx.settings.inbox / ENYANG
    first = make_workbook(tmp_path / "v1.xlsx", year=2024)
    folder.mkdir(parents=True)
    shutil.copy(first, folder / "v1.xlsx")
    assert [o["status"] for o in pipeline.ingest(ctx=ctx)] == ["accepted"]
    shutil.copy(first, folder / "v1-again.xlsx")
    assert [o["status"] for o in pipeline.ingest(ctx=ctx)] == ["duplicate"]
    assert count(ctx, "select count(*) from submission") == 1

    make_workbook(folder / "v2.xlsx", year=2024, overrides={"ZB0017": (25, None, None)})
    (outcome,) = pipeline.ingest(ctx=ctx)
    assert outcome["status"] == "accepted"
    n = len(good_values(ctx, ENYANG, 2024))
    assert outcome["summary"]["updated"] == 1 and outcome["summary"]["unchanged"] == n - 1
    assert count(ctx, "select count(*) from submission where is_current = 1") == 1
    assert count(ctx, "select count(*) from fact_value") == 2 * n, "the old version stays queryable"
    current = count(ctx, """select f.value from fact_value f join submission s
                            on s.submission_id = f.submission_id
                            where s.is_current = 1 and f.indicator_code = 'ZB0017'""")
    assert current == 25
    superseded = count(ctx, "select count(*) from submission where supersedes is not null")
    assert superseded == 1


def test_rejected_resubmission_leaves_the_current_values_alone(ctx, make_workbook):
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "good.xlsx", year=2022)
    pipeline.ingest(ctx=ctx)
    before = count(ctx, "select sum(value) from fact_value")
    make_workbook(folder / "bad.xlsx", year=2022, overrides={"ZB0002": (-5, 1, 2)})
    assert [o["status"] for o in pipeline.ingest(ctx=ctx)] == ["rejected"]
    assert count(ctx, "select sum(value) from fact_value") == before
    assert count(ctx, "select count(*) from fact_value") == len(good_values(ctx, ENYANG, 2022))


def test_scan_waits_for_files_that_are_still_changing(ctx, make_workbook, monkeypatch):
    import time

    path = make_workbook(ctx.settings.inbox / ENYANG / "copying.xlsx")
    monkeypatch.setenv("PLANSTATS_STABLE_SECONDS", "60")
    waiting = pipeline.context()
    assert pipeline.scan_inbox(waiting, now=time.time()) == []
    assert pipeline.scan_inbox(waiting, now=time.time() + 61) == [str(path)]


def test_files_of_one_batch_are_compared_in_arrival_order(ctx, make_workbook):
    import os

    folder = ctx.settings.inbox / ENYANG
    first = make_workbook(folder / "a.xlsx", year=2021)
    second = make_workbook(folder / "b.xlsx", year=2021, overrides={"ZB0025": (7, None, None)})
    os.utime(first, (1_000_000, 1_000_000))
    os.utime(second, (1_000_100, 1_000_100))
    n = len(good_values(ctx, ENYANG, 2021))
    a, b = pipeline.ingest(ctx=ctx)
    assert a["summary"]["new"] == n
    summary = b["summary"]
    assert (summary["new"], summary["updated"], summary["unchanged"]) == (0, 1, n - 1)
