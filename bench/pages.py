"""Server time of each reviewer-workspace page on the province case: 183 counties × 2021–2025.

The pages are served by the real Airflow api-server app (``create_app``, the plugin loaded,
SimpleAuthManager, a bearer token), in this process; the figure is the app's own
``Server-Timing`` (routing, Airflow authentication, warehouse queries, rendering), median of
warm runs after one warm-up. Data: one CSV per county and year through the real ingest, the
roll-ups and statistics of every plan in period, about a third of the counties approved; cached
in bench/work/pages/ by the catalog's fingerprint. Results: bench/work/pages.json and a table.

    .venv/bin/python bench/pages.py [--runs 7]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gen

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
WORK = BENCH / "work" / "pages"
YEARS = (2021, 2022, 2023, 2024, 2025)
YEAR = 2025
TARGET_MS = 300.0
USERS = "admin:admin"


def _environment(data: Path, home: Path) -> None:
    os.environ.update({
        "PLANSTATS_DATA_DIR": str(data), "PLANSTATS_STABLE_SECONDS": "0",
        "GX_ANALYTICS_ENABLED": "False", "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": USERS,
        "AIRFLOW__API_AUTH__JWT_SECRET": "planstats-bench-pages-" + "x" * 48,
    })
    for name in ("WAREHOUSE_URL", "INBOX", "ARCHIVE", "QUARANTINE", "REPORTS", "PUBLISH",
                 "GX_DIR", "INCLUDE_DIR", "OUTBOX", "REVIEWER_REGIONS"):
        os.environ.pop(f"PLANSTATS_{name}", None)


def _write_csvs(ctx: Any, inbox: Path) -> int:
    from planstats.samples import year_values

    files = 0
    for county in ctx.regions.counties_under("510000"):
        folder = inbox / county
        folder.mkdir(parents=True, exist_ok=True)
        for year in YEARS:
            values = year_values(ctx, county, year, random.Random(f"pages-{county}-{year}"))
            with (folder / f"{county}_{year}.csv").open("w", encoding="utf-8-sig",
                                                        newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(gen.CSV_HEADER)
                writer.writerows((county, year, code, *triple, "")
                                 for code, triple in values.items())
            files += 1
    return files


def prepare(key: str) -> dict[str, Any]:
    """The province case in a warehouse, built once per catalog fingerprint."""
    from planstats import pipeline, review

    manifest = WORK / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text())["key"] == key:
        return json.loads(manifest.read_text())
    shutil.rmtree(WORK / "data", ignore_errors=True)
    started = time.perf_counter()
    ctx = pipeline.context()
    files = _write_csvs(ctx, ctx.settings.inbox)
    outcomes = pipeline.ingest(ctx=ctx)
    accepted = [o for o in outcomes if o["status"] != "rejected"]
    bench = review.Reviewer(name="bench", regions=None, may_decide=True)
    for o in accepted[::3]:
        pipeline.review_decide(o["submission_id"], "approve", bench, None, ctx)
    for year in YEARS:
        for code in pipeline.plans_of_year(year, ctx):
            pipeline.run_rollup(code, year, ctx)
            pipeline.publish_statistics(code, year, ctx=ctx)
    pipeline.data_docs(ctx)
    meta = {"key": key, "files": files, "accepted": len(accepted),
            "counties": len(ctx.regions.counties_under("510000")), "years": list(YEARS),
            "submission": next(o["submission_id"] for o in accepted
                               if o["year"] == YEAR and o["region_code"] == "511402"),
            "prepare_s": round(time.perf_counter() - started, 1)}
    manifest.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return meta


def _migrated(home: Path) -> None:
    stamp = home / ".migrated"
    if stamp.exists():
        return
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], check=True,
                   capture_output=True, env=os.environ)
    stamp.touch()


def pages(meta: dict[str, Any], indicator: str) -> list[tuple[str, str]]:
    s = f"/planstats/statistics?plan=sichuan-14th&year={YEAR}"
    return [
        ("年度总览", f"/planstats/?year={YEAR}"),
        ("报送（全省）", f"/planstats/submissions?year={YEAR}"),
        ("报送（一县）", f"/planstats/submissions?year={YEAR}&region=511402"),
        ("报送详情", f"/planstats/submissions/{meta['submission']}"),
        ("统计·省", f"{s}&region=510000"),
        ("统计·市", f"{s}&region=511400"),
        ("统计·县", f"{s}&region=511402"),
        ("数据来源·省（183 县）", f"/planstats/statistics/sources?plan=sichuan-14th&year={YEAR}"
                             f"&region=510000&indicator={indicator}"),
        ("审核", f"/planstats/review?year={YEAR}"),
        ("待核实", f"/planstats/follow-ups?year={YEAR}"),
        ("JSON 报送列表", f"/planstats/api/submissions?year={YEAR}"),
        ("数据文档首页", "/planstats/datadocs/index.html"),
    ]


def measure(runs: int) -> dict[str, Any]:
    WORK.mkdir(parents=True, exist_ok=True)
    data, home = WORK / "data", WORK / "airflow"
    home.mkdir(exist_ok=True)
    _environment(data, home)
    from planstats.settings import Settings

    meta = prepare(gen.fingerprint(Settings.from_env().include_dir))
    _migrated(home)
    started = time.perf_counter()
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    client = TestClient(create_app())
    app_s = time.perf_counter() - started
    password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
    token = client.post("/auth/token", json={"username": "admin",
                                             "password": password["admin"]}).json()
    client.headers["Authorization"] = f"Bearer {token['access_token']}"
    from planstats import pipeline

    indicator = pipeline.context().catalog.plan("sichuan-14th").indicators[0].code
    rows = []
    for name, url in pages(meta, indicator):
        server, wall, size = [], [], 0
        for i in range(runs + 1):
            t = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - t) * 1000
            assert response.status_code == 200, (url, response.status_code, response.text[:300])
            if i:  # the first is the warm-up
                server.append(float(response.headers["server-timing"].split("dur=")[1]))
                wall.append(elapsed)
            size = len(response.content)
        median = statistics.median(server)
        rows.append({"page": name, "url": url, "server_ms": round(median, 1),
                     "server_max_ms": round(max(server), 1),
                     "client_ms": round(statistics.median(wall), 1), "bytes": size,
                     "under_target": median < TARGET_MS})
    return {"case": f"province {meta['counties']} counties × {len(YEARS)} years "
                    f"({meta['files']} files)", "runs": runs, "target_ms": TARGET_MS,
            "app_create_s": round(app_s, 1), "prepare_s": meta["prepare_s"], "pages": rows}


def table(result: dict[str, Any]) -> str:
    lines = [f"Workspace pages, {result['case']}: median of {result['runs']} warm runs "
             f"(server time from the app's Server-Timing; target < {result['target_ms']:.0f} ms)",
             "", "| page | server ms | max ms | client ms | KB |", "|---|---:|---:|---:|---:|"]
    for r in result["pages"]:
        flag = "" if r["under_target"] else " ⚠"
        lines.append(f"| {r['page']} | {r['server_ms']}{flag} | {r['server_max_ms']} | "
                     f"{r['client_ms']} | {r['bytes'] // 1024} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    result = measure(args.runs)
    (BENCH / "work" / "pages.json").write_text(json.dumps(result, ensure_ascii=False, indent=1),
                                               encoding="utf-8")
    print(table(result))
    over = [r["page"] for r in result["pages"] if not r["under_target"]]
    if over:
        print(f"over the {TARGET_MS:.0f} ms target: {', '.join(over)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
