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
    failed = [r for r in values.results if not r.success]
    assert [r.expectation_config.severity.value for r in failed] == ["warning"]
    checks = {row["check"] for r in failed for row in r.result["unexpected_index_list"]}
    assert checks == {"value given if required == 1"}, "the 缺报 check, and only it"
    assert values.get_max_severity_failure().value == "warning", "a warning is not critical"
    suite = gxkit.gx_context(project).suites.get("values")
    by_rule = {(r, e.severity.value) for e in suite.expectations for r in e.meta["rule"].split("+")}
    assert ("value_range", "critical") in by_rule and ("yoy_change", "warning") in by_rule

    index = gxkit.build_data_docs(project)
    pages = list((index.parent / "validations" / "values").rglob("*.html"))
    assert pages, "the values suite has its validation page"
    page = pages[0].read_text(encoding="utf-8")
    assert "【警告】missing_value" in page and "【错误】" in page and "value_range" in page


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


def test_every_value_check_fails_alone_in_the_long_table(ctx):
    """One row per value check, each breaking only that check: GX names each row back under its
    own check, with that check's meta (``validate.expand_checks``)."""
    import pandas as pd

    from planstats import validate
    from planstats.expectations import (
        CHECK_INDEX,
        SUITE_VALUES,
        check_id,
        rule_parameters,
        value_expectations,
    )

    rate = next(c for c, r in rule_parameters(ctx.catalog).items()
                if r.numerator_within_denominator)
    count = next(c for c, r in rule_parameters(ctx.catalog).items() if r.integer)
    weighted = next(c for c, r in rule_parameters(ctx.catalog).items() if r.needs_weight)
    bounded = next(c for c, r in rule_parameters(ctx.catalog).items()
                   if r.value_max is not None and r.ratio_scale is None and not r.needs_weight)
    good = {"value": 50.0, "numerator": 5.0, "denominator": 10.0, "required": 1,
            "yoy_change": 1.0, "history_z": 0.1}
    rows = {  # check → (indicator, changes to a good row)
        "in_catalog in [1]": ("ZB9999", {}),
        "value given if required == 1": (rate, {"value": None, "numerator": None}),
        "value>=value_min": (rate, {"value": -1.0, "numerator": -0.1}),
        "value_max>=value": (bounded, {"value": 1e12, "numerator": None, "denominator": None}),
        "frac_max>=value_frac": (count, {"value": 2.5, "numerator": None, "denominator": None}),
        "numerator given if needs_parts == 1": (rate, {"numerator": None}),
        "denominator given if needs_parts == 1": (rate, {"denominator": None}),
        "denominator>denominator_floor": (rate, {"denominator": 0.0, "numerator": 0.0,
                                                 "value": 0.0}),
        "numerator_max>=numerator": (rate, {"numerator": 20.0, "value": 200.0}),
        "ratio_tolerance>=ratio_gap": (rate, {"value": 70.0}),
        "denominator given if needs_weight == 1": (weighted, {"denominator": None}),
        "yoy_limit>=yoy_change_abs": (rate, {"yoy_change": 90.0}),
        "history_sigma>=history_z_abs": (rate, {"history_z": 9.0}),
    }
    records = [{"submission_key": f"k{i}", "source_row": i, "region_code": "511903",
                "indicator_code": code, **good, **changes}
               for i, (code, changes) in enumerate(rows.values())]
    records += [records[2] | {"source_row": 99}]  # a duplicate of the third row
    frame = pd.DataFrame.from_records(records)[validate.VALUE_COLUMNS]
    validate.add_rule_columns(frame, rule_parameters(ctx.catalog))
    failures = validate.expand_checks(gxkit.run_suites(
        validate.check_rows(frame), [SUITE_VALUES], ctx.settings.expectations_dir, None,
        "values", CHECK_INDEX))
    by_check = {check_id(e): e["meta"] for e in value_expectations()}
    found = {}
    for meta, bad in failures:
        (check,) = {row["check"] for row in bad}
        assert meta == by_check[check]
        found[check] = sorted(int(row["source_row"]) for row in bad)
    expected = {check: [i] for i, check in enumerate(rows)}
    expected["unique(submission_key,region_code,indicator_code)"] = [2, 99]
    expected["value>=value_min"] = [2, 99]
    # a proportion's 分子 > 分母 puts its value above 100 % too: that row fails both
    expected["value_max>=value"] = [3, 8]
    assert set(by_check) == set(expected), "a check without a planted row"
    assert {c: found.get(c) for c in expected} == expected
