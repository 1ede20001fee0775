"""The GX machinery: severity as the suites state it, and a dry run that leaves no GX file."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from planstats import gxkit, pipeline

ROOT = Path(__file__).resolve().parent.parent


def _results(project: Path) -> list:
    store = gxkit.gx_context(project).validation_results_store
    return [store.get(key) for key in store.list_keys()]


def test_severity_reaches_gx_and_data_docs_show_warnings_as_warnings(ctx, make_workbook,
                                                                     tmp_path):
    project = tmp_path / "gx"
    path = make_workbook(tmp_path / "gap.xlsx", overrides={"ZB0031": (None, None, None)})
    (item,) = pipeline.check([path], ctx, project)
    assert item.status == "accepted_with_warnings"
    (values,) = [r for r in _results(project) if r.suite_name == "values"]
    failed = [r.expectation_config for r in values.results if not r.success]
    assert [(c.meta["rule"], c.severity.value) for c in failed] == [("missing_value", "warning")]
    assert values.get_max_severity_failure().value == "warning", "a warning is not critical"
    suite = gxkit.gx_context(project).suites.get("values")
    by_rule = {(e.meta["rule"], e.severity.value) for e in suite.expectations}
    assert ("value_range", "critical") in by_rule and ("yoy_change", "warning") in by_rule

    index = gxkit.build_data_docs(project)
    pages = list((index.parent / "validations" / "values").rglob("*.html"))
    assert pages, "the values suite has its validation page"
    page = pages[0].read_text(encoding="utf-8")
    assert "【警告】missing_value" in page and "【错误】value_range" in page


def _tree(*roots: Path) -> dict[str, str]:
    """Every file under ``roots`` with the hash of its bytes."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for root in roots for p in sorted(root.rglob("*")) if p.is_file()}


def test_dry_run_writes_no_gx_project_files(ctx, make_workbook, tmp_path):
    """`planstats validate` in its own process: the data folder, the working directory and
    HOME are byte-for-byte as before (the warehouse it reads is elsewhere)."""
    path = make_workbook(tmp_path / "sent" / "gap.xlsx",
                         overrides={"ZB0031": (None, None, None)})
    data, cwd, home = tmp_path / "dry-data", tmp_path / "cwd", tmp_path / "home"
    for folder in (data / "inbox" / "511903", cwd, home):
        folder.mkdir(parents=True)
    (data / "inbox" / "511903" / "readme.txt").write_text("县里的文件", encoding="utf-8")
    env = {**os.environ, "PLANSTATS_DATA_DIR": str(data), "HOME": str(home),
           "PLANSTATS_WAREHOUSE_URL": ctx.settings.warehouse_url}
    before = _tree(data, cwd, home)
    done = subprocess.run([sys.executable, "-m", "planstats.cli", "validate", str(path),
                           "--json"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "accepted_with_warnings"
    assert _tree(data, cwd, home) == before
    assert not list(tmp_path.rglob("great_expectations.yml")), "no GX project anywhere"


def test_ingest_shows_progress_on_stderr_and_quiet_turns_it_off(ctx, make_workbook, tmp_path):
    """Not a terminal: plain lines (files done/total, values, rate, ETA, one per chunk) and a
    summary; ``--quiet`` prints none of them."""
    env = {**os.environ, "PLANSTATS_DATA_DIR": str(ctx.settings.data_dir),
           "PLANSTATS_STABLE_SECONDS": "0"}
    runs = {}
    for quiet, year in ((False, 2023), (True, 2024)):
        make_workbook(ctx.settings.inbox / "511903" / f"{year}.xlsx", year=year)
        done = subprocess.run([sys.executable, "-m", "planstats.cli",
                               *(["--quiet"] if quiet else []), "ingest"], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        runs[quiet] = done.stderr
    assert "ingest: 1/1 files, " in runs[False] and "values (" in runs[False]
    assert "ETA" in runs[False] and "chunk of 1 files" in runs[False]
    assert "ingest done in" in runs[False] and "accepted 1" in runs[False]
    assert "ingest" not in runs[True]
