"""Faults around the warehouse and the disk: re-running recovers with nothing lost or doubled.
(kill -9 during ingest and concurrent ingests are in test_warehouse.py.)"""

import subprocess

import pytest
from sqlalchemy import text

from planstats import pipeline
from tests.conftest import ENYANG, good_values


def counts(ctx) -> tuple[int, int]:
    with ctx.warehouse.engine.connect() as conn:
        return (conn.execute(text("select count(*) from submission")).scalar(),
                conn.execute(text("select count(*) from fact_value")).scalar())


def test_warehouse_unavailable_then_rerun_recovers(data_dir, make_workbook, monkeypatch,
                                                   tmp_path):
    good = pipeline.context()
    path = make_workbook(good.settings.inbox / ENYANG / "2023.xlsx", year=2023)
    monkeypatch.setenv("PLANSTATS_WAREHOUSE_URL", f"sqlite:///{tmp_path}/missing/dir/x.sqlite")
    blocked = tmp_path / "missing"
    blocked.write_text("a file where the warehouse folder should be")
    with pytest.raises(Exception):  # noqa: B017 - any pipeline fault must fail the task
        pipeline.ingest(ctx=pipeline.context())
    assert path.exists(), "the county's file stays in the inbox"
    monkeypatch.delenv("PLANSTATS_WAREHOUSE_URL")
    (outcome,) = pipeline.ingest(ctx=good)
    assert outcome["status"] == "accepted"
    assert counts(good) == (1, len(good_values(good, ENYANG, 2023)))


def test_archive_disk_full_then_rerun_archives_it_without_loading_twice(ctx, make_workbook,
                                                                        monkeypatch, tmp_path):
    """The load commits before the file moves; if the move fails (disk full), the next run
    finds the same bytes already loaded and only finishes the move, to the recorded place."""
    full = tmp_path / "full"
    full.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)],
                             capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("a full disk is simulated with a 64 KiB tmpfs, which needs root to mount")
    try:
        (full / "filler").write_bytes(b"\0" * 60_000)
        monkeypatch.setenv("PLANSTATS_ARCHIVE", str(full / "archive"))
        path = make_workbook(ctx.settings.inbox / ENYANG / "2024.xlsx", year=2024)
        with pytest.raises(OSError):
            pipeline.ingest(ctx=pipeline.context())
        assert path.exists()
        assert not [p for p in full.rglob("*") if p.name.endswith((".xlsx", ".part"))], \
            "no partial copy of the county's file"
        loaded = counts(ctx)
        assert loaded == (1, len(good_values(ctx, ENYANG, 2024)))
        (full / "filler").unlink()
        (outcome,) = pipeline.ingest(ctx=pipeline.context())  # space again: finish the move
        assert outcome["status"] == "recovered"
        assert list((full / "archive" / "2024" / ENYANG).glob("*_2024.xlsx"))
    finally:
        subprocess.run(["umount", str(full)], check=True)
    assert counts(ctx) == loaded
    assert not path.exists()


def test_file_removed_between_scan_and_read_is_skipped(ctx, make_workbook):
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "2021.xlsx", year=2021)
    gone = make_workbook(folder / "2022.xlsx", year=2022)
    paths = pipeline.scan_inbox(ctx)
    assert len(paths) == 2
    gone.unlink()
    outcomes = pipeline.ingest(paths, ctx)
    assert [o["status"] for o in outcomes] == ["accepted"]
    assert counts(ctx)[0] == 1
