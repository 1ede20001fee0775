"""The ways to load the same files, and the worker process that times one of them.

Run by bench/run.py as ``python bench/ways.py WAY CASE_DIR --runs N --work DIR``; prints one
JSON line. Imports happen before any timing; the first call (on one file) is timed apart as part
of the cold start; every timed run gets a fresh copy of the files and a fresh store.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gen import Case

WAYS = ("floor", "checked", "naive", "naive-rules", "pipeline")
VALUES_TABLE = (
    "create table fact_value (region_code text, year integer, indicator_code text, "
    "value real, numerator real, denominator real, note text)"
)
INSERT = "insert into fact_value values (?, ?, ?, ?, ?, ?, ?)"


def progress(event: str, **facts: Any) -> None:
    """One line on stderr, kept by the parent: what finished before a timeout, if one comes."""
    print(json.dumps({"event": event, **facts}, ensure_ascii=False), file=sys.stderr, flush=True)


def fresh_inbox(case: Case, files: list[Path], run_dir: Path) -> list[Path]:
    """Copy ``files`` into ``run_dir/inbox/<county>/`` (ingest moves what it reads)."""
    shutil.rmtree(run_dir, ignore_errors=True)
    copies = []
    for path in files:
        target = run_dir / "inbox" / path.relative_to(case.inbox)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copies.append(target)
    return copies


def _blank(cell: Any) -> Any:
    return None if cell == "" else cell


# (a) floor: the fastest reader and one bulk insert, no checks ---------------------------------


def read_rows(paths: list[Path]) -> list[tuple[Any, ...]]:
    """Every value row of every file (python-calamine, csv), as the cells hold it."""
    from python_calamine import CalamineWorkbook

    rows: list[tuple[Any, ...]] = []
    for path in paths:
        if path.suffix == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh)
                next(reader)
                rows.extend((r[0], r[1], r[2], _blank(r[3]), _blank(r[4]), _blank(r[5]),
                             _blank(r[6])) for r in reader)
            continue
        book = CalamineWorkbook.from_path(str(path))
        info = {r[0]: r[1] for r in book.get_sheet_by_name("填报信息").to_python() if len(r) > 1}
        region, year = str(info["行政区划代码"]), int(info["统计年度"])
        table = book.get_sheet_by_name("指标数据").to_python()
        start = next(i for i, r in enumerate(table) if r and r[0] == "指标代码") + 1
        rows.extend((region, year, r[0], _blank(r[4]), _blank(r[5]), _blank(r[6]), _blank(r[7]))
                    for r in table[start:] if r and r[0])
    return rows


def insert_rows(rows: list[tuple[Any, ...]], db: Path) -> None:
    con = sqlite3.connect(db)
    with con:
        con.execute(VALUES_TABLE)
        con.executemany(INSERT, rows)
    con.close()


def floor(paths: list[Path], db: Path) -> int:
    """Read every file and executemany the values into a fresh SQLite. No checks."""
    rows = read_rows(paths)
    insert_rows(rows, db)
    return len(rows)


# (a') checked floor: the same, plus one GX validation of all values with the project's suite ---


def checked_floor(paths: list[Path], db: Path, ctx: Any) -> dict[str, Any]:
    """The floor with the values suite run once over every value (ephemeral GX context).

    No structure checks, history or issue wording: what GX costs over the whole batch.
    """
    import pandas as pd

    from planstats import gxkit, validate
    from planstats.expectations import CHECK_INDEX, SUITE_VALUES, rule_parameters

    rows = read_rows(paths)
    df = pd.DataFrame.from_records(rows, columns=["region_code", "year", "indicator_code",
                                                  "value", "numerator", "denominator", "note"])
    asked = {}
    for county, year in {(r[0][:6], int(r[1])) for r in rows}:
        plans = ctx.catalog.plans_for(ctx.regions.ancestors(county), year)
        asked[(county, year)] = {i.concept.code for p in plans for i in p.indicators}
    df["required"] = [int(r[2] in asked[(r[0][:6], int(r[1]))]) for r in rows]
    df["submission_key"] = df["region_code"].str[:6] + "-" + df["year"].astype(str)
    df["source_row"] = range(len(df))
    for column in ("value", "numerator", "denominator"):
        df[column] = pd.to_numeric(df[column], errors="coerce")
    df["yoy_change"] = df["history_z"] = float("nan")
    values = df[validate.VALUE_COLUMNS].copy()
    validate.add_rule_columns(values, rule_parameters(ctx.catalog))
    failures = gxkit.run_suites(validate.check_rows(values), [SUITE_VALUES],
                                ctx.settings.expectations_dir, None, "values", CHECK_INDEX)
    insert_rows(rows, db)
    return {"values": len(rows), "failed_rows": sum(len(f[1]) for f in failures)}


# (b) naive: one GX checkpoint and Data Docs rebuild per file, a commit per row -----------------


class Naive:
    """What public Airflow + GX demos do, file by file, in a fresh file-backed GX project.

    ``rules``: the file's checks are the project's per-rule expectations over its rule columns
    (``expectations.value_expectations``) instead of the demo's per-indicator ones.
    """

    def __init__(self, work: Path, ctx: Any, rules: bool = False) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.ctx = ctx
        self.rules = rules
        self.context = gx.get_context(mode="file", project_root_dir=str(work / "gx"))
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.context.data_sources.add_pandas("files")
        self.batch = source.add_dataframe_asset("file").add_batch_definition_whole_dataframe("b")
        self.checkpoints: dict[tuple[str, ...], Any] = {}
        self.db = sqlite3.connect(work / "naive.sqlite")
        self.db.execute(VALUES_TABLE)
        self.db.commit()

    def suite(self, name: str) -> Any:
        """A demo's suite (``demo_expectations``), or the project's rules (``rules``)."""
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        from planstats.expectations import value_expectations

        suite = self.gx.ExpectationSuite(name=name)
        expectations = ([(e["type"], e["kwargs"]) for e in value_expectations()] if self.rules
                        else demo_expectations(name, self.ctx.catalog))
        for kind, kwargs in expectations:
            suite.add_expectation_configuration(ExpectationConfiguration(type=kind,
                                                                         kwargs=kwargs))
        return self.context.suites.add(suite)

    def checkpoint(self, suites: tuple[str, ...]) -> Any:
        from great_expectations.checkpoint import UpdateDataDocsAction

        if suites not in self.checkpoints:
            definitions = []
            for name in suites:
                if not any(s.name == name for s in self.context.suites.all()):
                    self.suite(name)
                definitions.append(self.context.validation_definitions.add(
                    self.gx.ValidationDefinition(name=f"{name}-{len(self.checkpoints)}",
                                                 data=self.batch,
                                                 suite=self.context.suites.get(name))))
            self.checkpoints[suites] = self.context.checkpoints.add(self.gx.Checkpoint(
                name=f"naive-{len(self.checkpoints)}", validation_definitions=definitions,
                actions=[UpdateDataDocsAction(name="update_data_docs")],
                result_format={"result_format": "COMPLETE",
                               "unexpected_index_column_names": ["submission_key",
                                                                 "source_row"]}))
        return self.checkpoints[suites]

    def frame(self, path: Path) -> tuple[Any, str, int]:
        """The file as the suites' long table (pandas readers, as the demos use)."""
        import pandas as pd

        if path.suffix == ".csv":
            raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
            region, year = raw["行政区划代码"].iloc[0][:6], int(raw["统计年度"].iloc[0])
            units = raw["行政区划代码"]
            first = 2
        else:
            sheets = pd.read_excel(path, sheet_name=["填报信息", "指标数据"], header=None,
                                   dtype=object)
            info = dict(zip(sheets["填报信息"][0], sheets["填报信息"][1], strict=False))
            region, year = str(info["行政区划代码"]), int(info["统计年度"])
            table = sheets["指标数据"]
            head = int(table.index[table[0] == "指标代码"][0])
            raw = table.iloc[head + 1:].copy()
            raw.columns = list(table.iloc[head])
            raw = raw[raw["指标代码"].notna()]
            units = pd.Series(region, index=raw.index)
            first = head + 2
        df = pd.DataFrame({
            "submission_key": path.name, "source_row": range(first, first + len(raw)),
            "region_code": units.to_numpy(), "indicator_code": raw["指标代码"].to_numpy()})
        for column, name in (("本年值", "value"), ("分子", "numerator"), ("分母", "denominator")):
            df[name] = pd.to_numeric(raw[column].replace("", None), errors="coerce").to_numpy()
        df["yoy_change"] = None
        df["history_z"] = None
        df["note"] = raw["说明"].replace("", None).to_numpy()
        return df, region, year

    def checked(self, df: Any, plans: list[Any]) -> Any:
        """The table with the rows' rule parameters, as the project's values suite reads it."""
        from planstats import validate
        from planstats.expectations import rule_parameters

        asked = {i.concept.code for p in plans for i in p.indicators}
        df["required"] = df["indicator_code"].isin(asked).astype(int)
        values = df[validate.VALUE_COLUMNS].copy()
        validate.add_rule_columns(values, rule_parameters(self.ctx.catalog))
        return values

    def load(self, path: Path) -> int:
        df, region, year = self.frame(path)
        plans = self.ctx.catalog.plans_for(self.ctx.regions.ancestors(region), year)
        suites = ("rules",) if self.rules else (DEMO_CATALOG, *(p.code for p in plans))
        self.checkpoint(suites).run(batch_parameters={"dataframe": self.checked(df, plans)})
        for row in df.itertuples(index=False):
            self.db.execute(INSERT, (row.region_code, year, row.indicator_code,
                                     _nan(row.value), _nan(row.numerator),
                                     _nan(row.denominator), row.note))
            self.db.commit()
        return len(df)


DEMO_CATALOG = "catalog"  # the demo's suite of every file: known codes, one row per code


def demo_expectations(suite: str, catalog: Any) -> list[tuple[str, dict[str, Any]]]:
    """(type, kwargs) of a suite as a demo writes an indicator schema: the catalog's codes, or
    a plan's indicators grouped by parameters, one expectation per group and rule with a pandas
    ``row_condition`` (the project's suites before issue 17 compiled them into rule columns)."""
    from planstats.expectations import HISTORY_SIGMA, RATIO_TOLERANCE, yoy_threshold

    def where(codes: list[str], extra: str = "") -> dict[str, str]:
        return {"row_condition": f"indicator_code in {json.dumps(codes)}{extra}",
                "condition_parser": "pandas"}

    if suite == DEMO_CATALOG:
        return [("expect_column_values_to_be_in_set",
                 {"column": "indicator_code", "value_set": sorted(catalog.concepts)}),
                ("expect_compound_columns_to_be_unique",
                 {"column_list": ["submission_key", "region_code", "indicator_code"]})]
    concepts = [i.concept for i in catalog.plan(suite).indicators]
    groups: dict[tuple[str, Any], list[str]] = {}
    for c in concepts:
        rules = [("range", (c.valid_min, c.valid_max)), ("yoy", yoy_threshold(c)), ("any", None)]
        rules += [("integer", None)] if c.integer else []
        rules += [("ratio", None)] if c.aggregation == "ratio" else []
        if c.aggregation == "ratio" and c.scale and c.valid_max is not None \
                and c.valid_max <= c.scale:
            rules.append(("proportion", None))
        rules += [("weighted", None)] if c.aggregation == "weighted_mean" else []
        for key in rules:
            groups.setdefault(key, []).append(c.code)
    out: list[tuple[str, dict[str, Any]]] = []
    between = "expect_column_values_to_be_between"
    not_null = "expect_column_values_to_not_be_null"
    for (rule, parameter), codes in groups.items():
        if rule == "range":
            out.append((between, {"column": "value", "min_value": parameter[0],
                                  "max_value": parameter[1], **where(codes)}))
        elif rule == "yoy":
            out.append((between, {"column": "yoy_change", "min_value": -parameter,
                                  "max_value": parameter, **where(codes)}))
        elif rule == "any":
            out += [(not_null, {"column": "value", **where(codes)}),
                    (between, {"column": "history_z", "min_value": -HISTORY_SIGMA,
                               "max_value": HISTORY_SIGMA,
                               **where(codes)})]
        elif rule == "integer":
            out.append((between, {"column": "value_frac", "min_value": 0, "max_value": 0,
                                  **where(codes)}))
        elif rule == "ratio":
            out += [(not_null, {"column": "numerator", **where(codes, " and has_value == 1")}),
                    (not_null, {"column": "denominator", **where(codes, " and has_value == 1")}),
                    (between, {"column": "denominator", "min_value": 0, "strict_min": True,
                               **where(codes)}),
                    (between, {"column": "ratio_gap", "min_value": 0,
                               "max_value": RATIO_TOLERANCE,
                               **where(codes)})]
        elif rule == "proportion":
            out.append(("expect_column_pair_values_a_to_be_greater_than_b",
                        {"column_A": "denominator", "column_B": "numerator", "or_equal": True,
                         "ignore_row_if": "either_value_is_missing", **where(codes)}))
        else:
            out.append((not_null, {"column": "denominator",
                                   **where(codes, " and has_value == 1")}))
    return out


def _nan(value: Any) -> Any:
    return None if value != value else value  # NaN is the only value unequal to itself


def naive(paths: list[Path], work: Path, ctx: Any, rules: bool = False) -> dict[str, Any]:
    """Values loaded, and the seconds spent creating the GX project (paid once, not per file)."""
    start = time.perf_counter()
    way = Naive(work, ctx, rules)
    setup = time.perf_counter() - start
    return {"values": sum(way.load(path) for path in paths), "setup_s": setup}


# (c) this pipeline end to end ------------------------------------------------------------------


def pipeline_way(paths: list[Path], ctx: Any) -> dict[str, int]:
    """ingest each year's files, then roll up and publish every plan in period that year."""
    from planstats import pipeline

    outcomes: Counter[str] = Counter()
    years = sorted({int(p.name.split("_")[1][:4]) for p in paths})
    for year in years:
        start = time.perf_counter()
        batch = [str(p) for p in paths if f"_{year}" in p.name]
        for item in pipeline.ingest(batch, ctx):
            outcomes[item["status"]] += 1
        progress("ingest", year=year, files=len(batch), s=round(time.perf_counter() - start, 2))
        start = time.perf_counter()
        plans = pipeline.publish_year(year, ctx)
        progress("rollup+publish", year=year, plans=len(plans),
                 s=round(time.perf_counter() - start, 2))
    return dict(outcomes)


# (stage, module, function): the time spent in a call counts to its stage, less the time of the
# stage calls made inside it (the innermost stage counts, as a profiler's self time does)
STAGE_CALLS = (
    ("read", "planstats.pipeline", "_read"),
    ("read", "planstats.intake.ahead", "_receive"),  # waiting for the helper's files
    ("structure", "planstats.pipeline", "_prepare"),
    ("structure", "planstats.pipeline", "_histories"),
    ("issues", "planstats.validate", "check_values"),  # what frames and GX leave of it
    ("frames", "planstats.validate", "frames"),
    ("frames", "planstats.validate", "check_rows"),
    ("gx", "planstats.gxkit", "run_suites"),  # or waiting for its forked run
    ("load", "planstats.load", "load_submission"),
    ("reports", "planstats.publish", "write_submission_report"),
    ("reports", "planstats.annotate", "write_annotated"),
    ("reports", "planstats.pipeline", "write_review_index"),
    ("rollup", "planstats.pipeline", "run_rollup"),
    # publish: reading the roll-up, completeness, trend and quality; then each file; waiting
    # for the largest plan's statistics, read and written by a child of publish_year
    ("publish.wait", "planstats.pipeline", "publish_year"),
    ("publish.read", "planstats.pipeline", "publish_statistics"),
    ("publish.json", "planstats.publish", "write_statistics"),  # or waiting for its writer
    ("publish.json", "planstats.publish", "_write_rows_json"),
    ("publish.xlsx", "planstats.publish", "_write_workbook"),
    ("publish.csv", "planstats.publish", "_write_csv"),
)


class StageClock:
    """Seconds spent in each pipeline stage, by wrapping the stage functions for one run."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self._saved: list[tuple[Any, str, Any]] = []
        self._inner: list[float] = []  # per open stage call: seconds of the stage calls inside

    def __enter__(self) -> StageClock:
        import importlib

        for stage, module_name, name in STAGE_CALLS:
            owner = importlib.import_module(module_name)
            original = getattr(owner, name)
            self._saved.append((owner, name, original))
            setattr(owner, name, self._timed(stage, original))
        return self

    def _timed(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            self._inner.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.perf_counter() - began
                self.seconds[stage] += spent - self._inner.pop()
                if self._inner:
                    self._inner[-1] += spent
        return wrapper

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)

    def stages(self, total: float) -> dict[str, float]:
        """Seconds per stage (summing to ``total`` with "other"); publish is the sum of its
        steps ("publish.*": reading the roll-up, completeness, trend and quality; each file;
        the wait for a child's files)."""
        out = {k: v for k, v in self.seconds.items() if not k.startswith("publish.")}
        steps = {k: v for k, v in self.seconds.items() if k.startswith("publish.")}
        out["publish"] = sum(steps.values())
        out["other"] = total - sum(out.values())
        return {k: round(v, 3) for k, v in {**out, **steps}.items()}


def _pipeline_context(run_dir: Path) -> Any:
    """A fresh landing zone and an empty warehouse for each run, made before the clock starts
    (its tables and dimensions, ≈ 0.03 s), as a deployed warehouse exists before any ingest;
    the GX project is the worker's, made by its first call and kept, as a deployed project is
    (its one-off set-up is in ``first_s``)."""
    from planstats import pipeline, warehouse

    warehouse.warehouse_for.cache_clear()
    pipeline._synced.cache_clear()
    os.environ["PLANSTATS_DATA_DIR"] = str(run_dir)
    os.environ["PLANSTATS_GX_DIR"] = str(run_dir.parent / "gx")
    ctx = pipeline.context()
    ctx.warehouse  # noqa: B018 (made here, not in the timed run)
    return ctx


# the worker ------------------------------------------------------------------------------------


def _importer(way: str) -> Callable[[], None]:
    def load() -> None:
        if way == "floor":
            import python_calamine  # noqa: F401
        else:
            import great_expectations  # noqa: F401
            import pandas  # noqa: F401

            from planstats import pipeline  # noqa: F401
    return load


def run_once(way: str, case: Case, files: list[Path], run_dir: Path) -> tuple[float, Any]:
    """Copy the files into a fresh run folder, then time one way over them."""
    copies = fresh_inbox(case, files, run_dir)
    os.sync()  # the copies written back now, not during the timed run
    if way == "floor":
        start = time.perf_counter()
        result: Any = floor(copies, run_dir / "floor.sqlite")
    elif way == "checked":
        from planstats import pipeline

        ctx = pipeline.context()
        start = time.perf_counter()
        result = checked_floor(copies, run_dir / "checked.sqlite", ctx)
    elif way.startswith("naive"):
        from planstats import pipeline

        ctx = pipeline.context()
        start = time.perf_counter()
        result = naive(copies, run_dir, ctx, rules=way == "naive-rules")
    else:
        server = os.environ.get("BENCH_PG_SERVER")
        if server:  # bench/postgres.py: a fresh PostgreSQL database for every run
            from tests.conftest import fresh_database

            os.environ["PLANSTATS_WAREHOUSE_URL"] = fresh_database(server)
        ctx = _pipeline_context(run_dir)
        with StageClock() as clock:
            start = time.perf_counter()
            result = pipeline_way(copies, ctx)
            seconds = time.perf_counter() - start
        return seconds, {"outcomes": result, "stages_s": clock.stages(seconds)}
    return time.perf_counter() - start, result


def vm_hwm_mb() -> float:
    """This process's peak resident set since exec (not inherited from the parent), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def subset(paths: list[Path], limit: int | None) -> list[Path]:
    """``limit`` files spread evenly over the list (all of them when no limit)."""
    if not limit or limit >= len(paths):
        return paths
    step = len(paths) / limit
    return [paths[int(i * step)] for i in range(limit)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("way", choices=WAYS)
    parser.add_argument("case_dir", type=Path)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit-files", type=int, default=0)
    parser.add_argument("--budget", type=float, default=0, help="stop starting runs after this")
    args = parser.parse_args(argv)
    meta = json.loads((args.case_dir / "manifest.json").read_text(encoding="utf-8"))
    case = Case(meta["name"], args.case_dir, meta["files"], meta["values"], tuple(meta["years"]))
    all_paths = case.paths()
    paths = subset(all_paths, args.limit_files)
    began = time.perf_counter()
    _importer(args.way)()
    imported = time.perf_counter() - began
    first, _ = run_once(args.way, case, all_paths[:1], args.work / "first")
    progress("first", s=round(first, 3))
    times, setups, result = [], [], None
    for index in range(args.runs):
        seconds, result = run_once(args.way, case, paths, args.work / f"run{index}")
        times.append(seconds)
        if isinstance(result, dict) and "setup_s" in result:
            setups.append(result.pop("setup_s"))
        progress("run", index=index, s=round(seconds, 3), result=result)
        spent = time.perf_counter() - began
        if args.budget and index + 1 < args.runs and spent + seconds > args.budget:
            break
    print(json.dumps({"way": args.way, "case": case.name, "import_s": imported, "first_s": first,
                      "times": times, "setup_s": setups, "files": len(paths),
                      "total_files": len(all_paths), "result": result,
                      "vm_hwm_mb": vm_hwm_mb()}, ensure_ascii=False), flush=True)
    # the runs' files are kept: bench/run.py sets the folder aside and deletes what it set
    # aside only once every case is timed (run.set_aside); written back now, not during the
    # next way's runs
    os.sync()
    return 0


if __name__ == "__main__":
    sys.exit(main())
