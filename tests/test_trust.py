"""What is published can be trusted: empty files are not reports, as-of and dry runs write
nothing, --out is honoured, bad inbox folders and bad settings are told, times are times."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from planstats import cli, pipeline
from planstats.clock import BEIJING, TimeError, beijing, parse_instant
from tests.rollup_case import CITY, make_include, write_inbox

ENYANG = "511903"


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under a folder with its bytes and modification time."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_empty_template_is_rejected_with_the_cell_named(ctx, tmp_path, capsys):
    path = pipeline.make_template(ENYANG, 2023, tmp_path / "empty.xlsx", ctx)
    assert cli.main(["validate", str(path), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "rejected"
    issue = next(i for i in result["issues"] if i["rule"] == "empty_submission")
    assert (issue["sheet"], issue["column"]) == ("指标数据", "E")
    assert "空白表不算报送" in issue["message"]


@pytest.fixture
def city(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PLANSTATS_INCLUDE_DIR", str(make_include(tmp_path)))
    return pipeline.context()


def _csv(path: Path, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["行政区划代码", "统计年度", "指标代码", "本年值", "分子", "分母", "说明"])
        writer.writerows(rows)


def test_only_delivered_values_count_as_reporting(city):
    ctx = city
    write_inbox(ctx.settings.inbox, 2023)
    # 511922 sends one value of four (a partial report); 511923 sends every row empty
    _csv(ctx.settings.inbox / "511922" / "2023.csv", [["511922", 2023, "ZB9002", 15, "", "", ""]])
    _csv(ctx.settings.inbox / "511923" / "2023.csv",
         [["511923", 2023, code, "", "", "", ""] for code in ("ZB9001", "ZB9002", "ZB9003")])
    outcomes = {Path(o["file"]).parent.name: o for o in pipeline.ingest(ctx=ctx)}
    assert outcomes["511923"]["status"] == "rejected"
    assert outcomes["511922"]["status"] != "rejected"
    pipeline.run_rollup("test-city", 2023, ctx)
    from planstats.rollup import completeness

    done = completeness(ctx.warehouse, ctx.catalog.plan("test-city"), 2023)
    by_county = {r["region_code"]: r for r in done.rows}
    assert (done.expected, done.received, done.partial) == (5, 4, 1)
    assert (by_county["511922"]["values_reported"], by_county["511922"]["values_asked"]) == (1, 4)
    assert by_county["511923"]["received"] == 0
    assert done.missing == ["511923"]
    for row in pipeline.statistics("test-city", 2023, ctx):
        if row.region_code == CITY:  # never "reporting 4 of 5" while listing 2 as missing
            assert row.reporting_regions + len(row.missing_regions) == row.expected_regions, row
    rows = {r.indicator_code: r for r in pipeline.statistics("test-city", 2023, ctx)
            if r.region_code == CITY}
    assert rows["ZB9001"].missing_regions == ("511922", "511923")
    assert rows["ZB9002"].missing_regions == ("511923",)


def test_out_dir_gets_every_output_and_bases_never_overwrite(city, tmp_path, capsys):
    ctx = city
    write_inbox(ctx.settings.inbox, 2023)
    pipeline.ingest(ctx=ctx)
    out = tmp_path / "mine"
    assert cli.main(["rollup", "--plan", "test-city", "--year", "2023", "--out", str(out)]) == 0
    assert cli.main(["rollup", "--plan", "test-city", "--year", "2023", "--out", str(out),
                     "--approved-only"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"index.html", "index.approved.html"} <= names
    assert any(n.endswith("_已审核.xlsx") for n in names)
    assert "仅已审核通过数据" in (out / "index.approved.html").read_text(encoding="utf-8")
    assert "全部已接收数据" in (out / "index.html").read_text(encoding="utf-8")
    assert not (ctx.settings.publish / "2023").exists(), "nothing written outside --out"
    capsys.readouterr()


def test_dry_run_writes_nothing_before_and_after_the_first_load(city, tmp_path, capsys):
    ctx = city
    submission = tmp_path / "elsewhere" / "2023.csv"
    write_inbox(tmp_path / "elsewhere-inbox", 2023)
    submission.parent.mkdir()
    (tmp_path / "elsewhere-inbox" / "511902" / "2023.csv").rename(submission)
    data = ctx.settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    before = snapshot(data)
    assert cli.main(["validate", str(submission), "--json"]) == 0
    assert snapshot(data) == before, "no warehouse, GX project or migration from a dry run"
    assert not (data / "warehouse.sqlite").exists()

    write_inbox(ctx.settings.inbox, 2023)
    pipeline.ingest(ctx=ctx)
    ctx.warehouse.engine.dispose()
    before = snapshot(data)
    capsys.readouterr()
    assert cli.main(["validate", str(submission), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert snapshot(data) == before, "the warehouse is only read"
    assert result["summary"]["unchanged"] == 4, "compared with what the warehouse holds"


def test_cli_as_of_accepts_dates_and_offsets_and_refuses_the_rest():
    assert parse_instant("2025-03-01") == datetime(2025, 3, 1, 15, 59, 59, 999999, tzinfo=UTC)
    assert parse_instant("2025-03-01T12:00") == datetime(2025, 3, 1, 4, 0, tzinfo=UTC)
    assert parse_instant("2025-03-01T12:00+08:00") == parse_instant("2025-03-01T04:00Z")
    with pytest.raises(TimeError, match="2025-03-01T12:00"):
        parse_instant("March 1st")
    assert cli.main(["rollup", "--plan", "enyang-14th", "--year", "2025",
                     "--as-of", "yesterday"]) == 2


def test_people_read_beijing_time():
    moment = datetime(2026, 12, 1, 18, 20, 38, tzinfo=UTC)
    assert beijing(moment) == "2026-12-02 02:20 北京时间"
    assert beijing("2026-12-01T18:20:38+00:00") == "2026-12-02 02:20 北京时间"
    assert beijing(moment.astimezone(BEIJING)) == "2026-12-02 02:20 北京时间"
    assert beijing(None) == ""


def test_bad_setting_stops_with_the_variable_and_the_form(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PLANSTATS_DATA_DIR": str(tmp_path),
           "PLANSTATS_MAX_ROWS": "1e5"}
    run = subprocess.run([sys.executable, "-m", "planstats.cli", "catalog"], env=env,
                         capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert run.returncode == 2
    assert "PLANSTATS_MAX_ROWS='1e5'" in run.stderr and "whole number" in run.stderr
    assert "Traceback" not in run.stderr


def test_no_module_but_settings_reads_the_environment():
    package = Path(pipeline.__file__).parent
    readers = [str(p.relative_to(package)) for p in package.rglob("*.py")
               if p.name != "settings.py"
               and any(word in p.read_text(encoding="utf-8")
                       for word in ("os.environ", "os.getenv", "getenv("))]
    assert readers == []


def test_stored_times_are_times_on_sqlite(city):
    ctx = city
    write_inbox(ctx.settings.inbox, 2023)
    pipeline.ingest(ctx=ctx)
    with ctx.warehouse.engine.connect() as conn:
        stored = conn.execute(text("select received_at, processed_at from submission")).all()
    for received, processed in stored:  # one fixed-width UTC form: text order is time order
        assert len(received) == len(processed) == 32 and received.endswith("+00:00")
    rows = ctx.warehouse.rows("report/submissions_of_year", year=2023)
    assert all(isinstance(r["received_at"], datetime) and r["received_at"].tzinfo for r in rows)
