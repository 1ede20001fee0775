"""The pipeline way on PostgreSQL (production's warehouse) beside SQLite, on the same cases.

A throwaway PostgreSQL cluster (``tests.conftest.PgCluster``: the server binaries of
``scripts/ensure-postgres.sh``, default settings, fsync on) is started for the run and removed
after it; every timed run gets a fresh database (``BENCH_PG_SERVER``, read by ``ways.py``).
The SQLite figures are the same worker on the same machine, run right after, so the two are
comparable within one run of this script. Results: bench/work/postgres.json and a table.

    .venv/bin/python bench/postgres.py [CASE ...] [--runs 2]    # make bench-postgres
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import gen
import run

STAGES = ("read", "structure", "gx", "load", "rollup", "publish")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cases", nargs="*", default=["province-2025", "community-827"])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(run.PROJECT))  # the tests' throwaway cluster
    from tests.conftest import PgCluster

    include = run.snapshot_include()
    cases = _cases(include, args.cases)
    plan = run.Plan(pipeline_runs=args.runs, budget=1e9, timeout=3600)
    pg = PgCluster()
    results: list[dict[str, Any]] = []
    try:
        pg.start()
        pg.wait_ready()
        server = f"postgresql+psycopg://{pg.user}@127.0.0.1:{pg.port}/postgres"
        for case in cases:
            print(case.name, flush=True)
            env = run.worker_env(include)
            on_pg = run.run_worker("pipeline", case, plan, {**env, "BENCH_PG_SERVER": server},
                                   plan.timeout)
            on_sqlite = run.run_worker("pipeline", case, plan, env, plan.timeout)
            results.append({"case": case.name, "postgresql": on_pg, "sqlite": on_sqlite})
    finally:
        pg.remove()
        run.empty_trash()
    out = run.WORK / "postgres.json"
    out.write_text(json.dumps({"machine": run.machine(), "results": results},
                              ensure_ascii=False, indent=1), encoding="utf-8")
    print(table(results))
    print(f"results: {out}")
    return 0


def _cases(include: Path, names: list[str]) -> list[gen.Case]:
    """The named cases, generated (or found cached) as make bench does."""
    from planstats import pipeline

    sizes = sorted({int(n.split("-")[1]) for n in names if n.startswith("community-")})
    ctx = pipeline.context()
    built = gen.build(ctx, run.WORK / "data", gen.fingerprint(include), sizes,
                      province="province-2025" in names)
    by_name = {c.name: c for c in built}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown cases {unknown}: province-2025 or community-<N>")
    return [by_name[n] for n in names]


def table(results: list[dict[str, Any]]) -> str:
    """Seconds end to end (each run, median) and the main stages of the last run,
    PostgreSQL beside SQLite."""
    lines = ["| case | warehouse | runs s | median s | "
             + " | ".join(f"{s} s" for s in STAGES) + " |",
             "|---|---|---|--:|" + "--:|" * len(STAGES)]
    for item in results:
        for kind in ("postgresql", "sqlite"):
            r = item[kind]
            stages = r["result"]["stages_s"] if r.get("result") else {}
            times = r.get("times") or []  # none: the worker was killed at its timeout
            median = f"{statistics.median(times):.1f}" if times else "killed"
            lines.append(f"| {item['case']} | {kind} | "
                         f"{' / '.join(f'{t:.1f}' for t in times)} | {median} | "
                         + " | ".join(f"{stages.get(s, 0):.1f}" for s in STAGES) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
