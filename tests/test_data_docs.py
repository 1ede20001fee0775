"""Data Docs stay fast as validations pile up: stored GX results are pruned per suite.

Each county file is checked in its own run (the worst case: one file per collection run), into
a GX project that keeps everything and one that prunes. The default is small; the full
measurement is ``PLANSTATS_DATA_DOCS_COUNTIES=183 PLANSTATS_DATA_DOCS_YEARS=5 pytest -s
tests/test_data_docs.py``, which prints the timings.
"""

import os
import random
import shutil
import statistics
import time
from pathlib import Path

from planstats import gxkit, pipeline
from planstats.samples import fill_workbook, year_values

COUNTIES = int(os.environ.get("PLANSTATS_DATA_DOCS_COUNTIES", "6"))
YEARS = tuple(range(2021, 2021 + int(os.environ.get("PLANSTATS_DATA_DOCS_YEARS", "2"))))
KEEP = int(os.environ.get("PLANSTATS_DATA_DOCS_KEEP", "3"))


def county_files(ctx, out: Path) -> list[Path]:
    """One filled template per county and year, 恩阳区 and 成都市's counties first."""
    counties = ctx.regions.counties_under("510000")
    counties = sorted(counties, key=lambda c: (c not in ("511903", "510104"), c))[:COUNTIES]
    paths = []
    for year in YEARS:
        for county in counties:
            path = out / county / f"{county}_{year}.xlsx"
            path.parent.mkdir(parents=True, exist_ok=True)
            pipeline.make_template(county, year, path, ctx)
            fill_workbook(path, year_values(ctx, county, year, random.Random(f"{county}{year}")),
                          reporter="测试")
            paths.append(path)
    return paths


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def pages(project: Path) -> int:
    site = gxkit.data_docs_index(project).parent / "validations"
    return sum(1 for _ in site.rglob("*.html")) if site.exists() else 0


def stored(project: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in gxkit.gx_context(project).validation_results_store.list_keys():
        name = key.expectation_suite_identifier.name
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_pruned_data_docs_stay_bounded(ctx, tmp_path, monkeypatch):
    files = county_files(ctx, tmp_path / "sent")
    sent = {p: p.read_bytes() for p in files}
    everything, pruned = tmp_path / "gx-all", tmp_path / "gx-pruned"
    monkeypatch.setenv("PLANSTATS_GX_KEEP_RUNS", str(10**9))  # keep every result: unbounded
    check_times, growth = [], []
    for n, path in enumerate(files, start=1):
        check_times.append(timed(pipeline.check, [path], ctx, everything))
        if n % COUNTIES == 0:
            growth.append((n, sum(stored(everything).values()),
                           timed(gxkit.build_data_docs, everything)))
    results = sum(stored(everything).values())
    assert results >= len(files), "the values suite once per file at least"

    shutil.copytree(everything, pruned)
    prune_build = timed(gxkit.build_data_docs, pruned, keep=KEEP)
    kept = stored(pruned)
    assert max(kept.values()) == KEEP and set(kept) == set(stored(everything))
    assert pages(pruned) == sum(kept.values()) < pages(everything) == results
    # the times are printed, not asserted (speed lives in the bench): with one suite per run
    # the two builds differ by less than this machine's noise
    rebuild = statistics.median(timed(gxkit.build_data_docs, pruned, keep=KEEP)
                                for _ in range(3))
    full = statistics.median(timed(gxkit.build_data_docs, everything) for _ in range(3))
    assert all(p.read_bytes() == data for p, data in sent.items()), "county files untouched"
    index = gxkit.data_docs_index(pruned).read_text(encoding="utf-8")
    newest = f"{YEARS[-1]}-{files[-1].parent.name}"
    assert newest in index, "the newest run is what reviewers find first"

    print(f"\n{len(files)} files ({COUNTIES} counties × {len(YEARS)} years), one run each")
    print(f"check per file: median {statistics.median(check_times):.3f} s, first "
          f"{COUNTIES}: {statistics.median(check_times[:COUNTIES]):.3f} s, last {COUNTIES}: "
          f"{statistics.median(check_times[-COUNTIES:]):.3f} s")
    for n, count, seconds in growth:
        print(f"unpruned after {n:4d} runs: {count:5d} results, build {seconds:7.2f} s")
    print(f"unpruned {results} results: build median {full:.2f} s, {pages(everything)} pages")
    print(f"pruned to {KEEP}/suite ({sum(kept.values())} results): first build {prune_build:.2f} s"
          f" (incl. pruning), rebuild median {rebuild:.2f} s")


def test_each_check_prunes_what_it_stored(ctx, tmp_path, monkeypatch):
    monkeypatch.setenv("PLANSTATS_GX_KEEP_RUNS", "2")
    project = tmp_path / "gx"
    for path in county_files(ctx, tmp_path / "sent")[:4]:
        pipeline.check([path], ctx, project)
    assert max(stored(project).values()) == 2


def test_saved_suites_survive_other_suite_sets_and_other_processes(ctx, tmp_path):
    """GX objects are saved once per process; a suite saved again elsewhere is picked up."""
    project = tmp_path / "gx"
    enyang, chengdu = county_files(ctx, tmp_path / "sent")[:2]  # two different sets of plans
    first = pipeline.check([enyang], ctx, project)[0]
    assert {p.code for p in first.plans} != {p.code for p in pipeline.check(
        [chengdu], ctx, project)[0].plans}
    # another process regenerates and saves a suite: the ids this process holds go stale
    gxkit.suite_from_file(gxkit.gx_context(project), ctx.settings.expectations_dir /
                          "values.json")
    again = pipeline.check([enyang], ctx, project)[0]
    assert [i.to_dict() for i in again.issues] == [i.to_dict() for i in first.issues]
    assert stored(project)["values"] == 3
    checkpoints = gxkit.gx_context(project).checkpoints.all()
    assert [c.name for c in checkpoints] == ["planstats_values_values"], "one suite, one checkpoint"
