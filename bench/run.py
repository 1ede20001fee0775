"""make bench: floor, naive and this pipeline timed on the same generated files.

Each way runs in its own process (bench/ways.py) so its peak RSS is its own (``os.wait4``).
Results go to ``$BENCH_OUT`` or bench/results.json; a full run also rewrites the results
section of bench/README.md. ``--quick`` is a smoke run (two small cases, one run each).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gen

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
WORK = BENCH / "work"
TRASH = WORK / "trash"  # what the bench no longer needs, deleted once every case is timed
README = BENCH / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
WAYS_SHOWN = ("floor", "checked", "pipeline", "naive", "naive-rules")
STAGES = ("read", "structure", "frames", "gx", "issues", "load", "reports", "rollup", "publish",
          "other")
PUBLISH_LABELS = {"publish.read": "reading rows, completeness, trend and quality",
                  "publish.xlsx": "workbooks", "publish.csv": "CSV",
                  "publish.json": "JSON (or, for a big table, waiting for its forked writer)",
                  "publish.wait": "waiting for the largest plan (read and written by a child)"}
SIZES = (round(gen.COMMUNITIES / 100), round(gen.COMMUNITIES / 10), gen.COMMUNITIES)


@dataclass(frozen=True)
class Plan:
    """How many runs of each way a case gets, and its time limits (seconds)."""

    floor_runs: int = 5
    pipeline_runs: int = 3
    naive_runs: int = 3
    naive_files: int = 6  # files per naive run; the rest is extrapolated linearly
    budget: float = 240.0  # start no further run once this is spent
    timeout: float = 420.0  # kill the worker here
    probe: float = 180.0  # the timeout when even linear growth from the last size exceeds it


def set_aside(path: Path) -> None:
    """Move a folder into TRASH instead of deleting it while runs are timed.

    This machine's ext4 has no journal: it then skips the inodes freed in the last 60 s (300 s
    while their inode-table block is unwritten) when it allocates new ones, looking each one up
    (``recently_deleted``). After a deletion of thousands of files, every file and folder made
    nearby cost 0.15-0.7 ms of system time instead of 0.04 ms: the province's 183 reports,
    receipts and archive folders took 0.3-0.5 s more, and which run paid depended on what the
    bench had deleted just before.
    """
    if path.exists():
        TRASH.mkdir(parents=True, exist_ok=True)
        path.rename(TRASH / f"{time.time_ns()}-{path.name}")


def empty_trash() -> None:
    """Delete what was set aside: once the timed runs are over."""
    shutil.rmtree(TRASH, ignore_errors=True)


def snapshot_include() -> Path:
    """A copy of include/ with the GX suites generated from its catalog, fixed for the run."""
    from planstats.catalog import load_catalog
    from planstats.expectations import write_suites

    target = WORK / "include"
    set_aside(target)
    shutil.copytree(PROJECT / "include", target)
    write_suites(load_catalog(target / "catalog"), target / "expectations")
    return target


def worker_env(include: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANSTATS_")}
    env["PLANSTATS_INCLUDE_DIR"] = str(include)
    # this tree's planstats, even when the virtualenv's editable install points at another
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH), str(PROJECT)])
    return env


def run_worker(way: str, case: gen.Case, plan: Plan, env: dict[str, str],
               timeout: float) -> dict[str, Any]:
    """One way over one case in a child process; its times, progress and peak RSS."""
    runs = {"floor": plan.floor_runs, "checked": plan.pipeline_runs, "naive": plan.naive_runs,
            "naive-rules": plan.naive_runs, "pipeline": plan.pipeline_runs}[way]
    work = WORK / "runs" / f"{case.name}-{way}"
    set_aside(work)
    work.mkdir(parents=True)
    cmd = [sys.executable, str(BENCH / "ways.py"), way, str(case.root), "--work", str(work),
           "--runs", str(runs), "--budget", str(plan.budget)]
    if way.startswith("naive"):
        cmd += ["--limit-files", str(plan.naive_files)]
    out, err = work / "stdout.json", work / "stderr.log"
    began = time.perf_counter()
    hwm = tree = 0.0
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env, cwd=PROJECT)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            hwm = max(hwm, vm_hwm_mb(proc.pid))
            tree = max(tree, tree_pss_mb(proc.pid))
            if time.perf_counter() - began > timeout:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)
    events = [json.loads(line) for line in err.read_text().splitlines()
              if line.startswith('{"event"')]
    firsts = [i for i, e in enumerate(events) if e["event"] == "first"]
    result: dict[str, Any] = {
        "way": way, "timed_out": timed_out, "peak_rss_mb": round(hwm, 1),
        "peak_tree_pss_mb": round(tree, 1),
        "progress": events[firsts[0] + 1:] if firsts else [],
        # wait4's ru_maxrss counts the parent's pages the child held between fork and exec
        "ru_maxrss_mb": round(usage.ru_maxrss / 1024, 1),
        "wall_s": round(time.perf_counter() - began, 1)}
    lines = out.read_text().splitlines()
    if proc.returncode == 0 and lines:
        result.update(json.loads(lines[-1]))
        result["peak_rss_mb"] = round(max(hwm, result.pop("vm_hwm_mb", 0.0)), 1)
    elif not timed_out:
        raise RuntimeError(f"{way} on {case.name} failed:\n{err.read_text()[-3000:]}")
    set_aside(work)
    print(f"  {way:8} {_summary(result)}", flush=True)
    return result


def vm_hwm_mb(pid: int | str) -> float:
    """Peak resident set of a process since its exec (VmHWM), in MB; 0 when gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1]) / 1024


def tree_pss_mb(pid: int) -> float:
    """Proportional set size of a process and its descendants (its forked helpers and
    workers), MB: the memory they use together, shared pages counted once; 0 when gone."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next((int(x.split()[1]) for x in rollup.splitlines() if x.startswith("Pss:")),
                      0)
        todo += map(int, children)
    return total / 1024


def _summary(result: dict[str, Any]) -> str:
    if result["timed_out"]:
        return f"killed after {result['wall_s']} s, peak {result['peak_rss_mb']} MB"
    times = ", ".join(f"{t:.2f}" for t in result["times"])
    return f"{times} s on {result['files']}/{result['total_files']} files, " \
           f"peak {result['peak_rss_mb']} MB (with its helpers {result['peak_tree_pss_mb']} MB PSS)"


def median_total(result: dict[str, Any]) -> float | None:
    """Median seconds for the whole case; a capped run's per-file part is scaled up by files."""
    if result["timed_out"] or not result.get("times"):
        return None
    scale = result["total_files"] / result["files"]
    setups = result.get("setup_s") or [0.0] * len(result["times"])
    return statistics.median(s + (t - s) * scale for t, s in zip(result["times"], setups,
                                                                 strict=True))


def median_stages(result: dict[str, Any]) -> dict[str, float] | None:
    """The stage seconds of the pipeline run whose time is the median."""
    runs = [e for e in result["progress"] if e["event"] == "run"]
    if not runs:
        return None
    middle = sorted(runs, key=lambda e: e["s"])[(len(runs) - 1) // 2]
    return middle["result"].get("stages_s")


def cold_start(env: dict[str, str], runs: int) -> dict[str, float]:
    """Interpreter plus ``import great_expectations`` (and planstats.pipeline), median seconds."""
    out = {}
    for label, code in (("python_s", "pass"),
                        ("import_great_expectations_s", "import great_expectations"),
                        ("import_planstats_pipeline_s", "import planstats.pipeline")):
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=PROJECT)
            times.append(time.perf_counter() - began)
        out[label] = round(statistics.median(times), 2)
    return out


def machine() -> dict[str, Any]:
    def first(path: str, key: str) -> str:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
        return "?"

    import great_expectations
    import sqlalchemy

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=PROJECT).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "planstats", "include"],
                           capture_output=True, text=True, cwd=PROJECT).stdout.strip()
    return {"nproc": os.cpu_count(), "memory_gb": round(int(first("/proc/meminfo", "MemTotal")
                                                            .split()[0]) / 2**20, 1),
            "cpu": first("/proc/cpuinfo", "model name"), "python": platform.python_version(),
            "os": platform.platform(), "great_expectations": great_expectations.__version__,
            "sqlalchemy": sqlalchemy.__version__, "git": commit + ("+dirty" if dirty else "")}


def run_case(case: gen.Case, plan: Plan, env: dict[str, str],
             projected: float | None) -> dict[str, Any]:
    """Every way on one case; ``projected`` is the pipeline's time if linear in values."""
    print(f"{case.name}: {case.files} files, {case.values} values", flush=True)
    timeout = plan.probe if projected and projected > plan.timeout else plan.timeout
    ways = {way: run_worker(way, case, plan, env, timeout if way == "pipeline" else plan.timeout)
            for way in WAYS_SHOWN}
    pipe = ways["pipeline"]
    return {
        "name": case.name, "values": case.values, "files": case.files,
        "pipeline_s": _round(median_total(pipe)), "floor_s": _round(median_total(ways["floor"])),
        "checked_s": _round(median_total(ways["checked"])),
        "naive_s": _round(median_total(ways["naive"])),
        "naive_rules_s": _round(median_total(ways["naive-rules"])),
        "stages_s": median_stages(pipe),
        "peak_rss_mb": pipe["peak_rss_mb"],
        "peak_tree_pss_mb": pipe.get("peak_tree_pss_mb", 0.0),
        "peak_rss_mb_by_way": {w: r["peak_rss_mb"] for w, r in ways.items()},
        "runs": {w: len(r.get("times", [])) for w, r in ways.items()},
        "naive_files_timed": ways["naive"].get("files"),
        "pipeline_timed_out_after_s": pipe["wall_s"] if pipe["timed_out"] else None,
        "pipeline_linear_projection_s": _round(projected),
        "pipeline_outcomes": pipe.get("result"),
        "pipeline_progress": pipe["progress"],
        "first_call_s": {w: _round(r.get("first_s")) for w, r in ways.items()},
        "import_s": {w: _round(r.get("import_s")) for w, r in ways.items()},
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else round(a / b, 1)


def targets(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets, each with the numbers it was judged on."""
    out: dict[str, Any] = {}
    province = next((c for c in cases if c["name"].startswith("province")), None)
    if province:
        pf = ratio(province["pipeline_s"], province["floor_s"])
        npl = ratio(province["naive_s"], province["pipeline_s"])
        gx = (province.get("stages_s") or {}).get("gx")
        out["province_pipeline_vs_floor"] = {"ratio": pf, "target": "<= 8",
                                             "met": pf is not None and pf <= 8}
        out["province_gx_seconds"] = {"ratio": gx, "unit": " s", "target": "<= 0.15 s",
                                      "met": gx is not None and gx <= 0.15}
        out["province_naive_vs_pipeline"] = {"ratio": npl, "target": ">= 150",
                                             "met": npl is not None and npl >= 150}
    community = sorted((c for c in cases if c["name"].startswith("community")),
                       key=lambda c: c["values"])
    biggest = community[-1] if community else None
    if biggest and biggest["name"] == f"community-{gen.COMMUNITIES}":
        took = biggest["pipeline_s"]
        out["community_8266_seconds"] = {"ratio": took, "unit": " s", "target": "<= 60 s",
                                         "met": took is not None and took <= 60}
        # the worker's peak RSS, or its helpers' and its own PSS together when that is more
        memory = max(biggest["peak_rss_mb"], biggest["peak_tree_pss_mb"])
        out["community_8266_peak_rss_mb"] = {"ratio": memory, "unit": " MB",
                                             "target": "<= 600 MB", "met": memory <= 600}
    steps = [linear_step(small, big) for small, big in itertools.pairwise(community)]
    if steps:
        out["community_linear"] = {"target": "10x data <= 11x time; peak RSS bounded "
                                   "(<= 1.5x per 10x data)", "steps": steps,
                                   "met": all(s["time_met"] and s["rss_bounded"] for s in steps)}
    return out


def _stages(case: dict[str, Any]) -> dict[str, float]:
    """Seconds of each stage (ingest of a year, roll-up + publish of a plan and year) of the
    first timed run, or of what finished before the worker was killed."""
    out: dict[str, float] = {}
    for event in case["pipeline_progress"]:
        if event["event"] == "run":
            break
        out[_stage(event)] = event["s"]
    return out


def linear_step(small: dict[str, Any], big: dict[str, Any]) -> dict[str, Any]:
    """Time and memory growth from one community size to the next.

    When the bigger run was killed, its finished stages are compared with the same stages of
    the smaller one (those of at least 1 s): one growing faster than the data is a failure;
    none doing so leaves the target undecided (None).
    """
    data = big["values"] / small["values"]
    took = ratio(big["pipeline_s"], small["pipeline_s"])
    rss = ratio(big["peak_rss_mb"], small["peak_rss_mb"])
    step: dict[str, Any] = {"from": small["name"], "to": big["name"], "data_x": round(data, 1),
                            "time_x": took, "time_met": took is not None and took <= 1.1 * data,
                            "rss_x": rss, "rss_bounded": rss is not None and rss <= 1.5}
    if took is None and big["pipeline_timed_out_after_s"]:
        before, after = _stages(small), _stages(big)
        step["stages"] = [{"stage": k, "small_s": before[k], "big_s": v,
                           "x": ratio(v, before[k])}
                          for k, v in after.items() if before.get(k, 0) >= 1]
        worse = any((x["x"] or 0) > 1.1 * data for x in step["stages"])
        step["time_met"] = False if worse else None
    return step


def markdown(results: dict[str, Any]) -> str:
    """The results section of bench/README.md."""
    m = results["machine"]
    lines = [
        f"Measured {results['date']} on {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB, "
        f"Python {m['python']}, GX {m['great_expectations']}, tree {m['git']}; "
        f"the run took {results['total_s'] / 60:.1f} min.",
        "",
        "| case | files | values | floor s | checked floor s | pipeline s | naive s | "
        "naive (project's rules) s | pipeline/floor | pipeline/checked | naive/pipeline | "
        "naive (project's rules)/pipeline | pipeline peak RSS MB | "
        "runs (floor/checked/pipeline/naive/naive with rules) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for c in results["cases"]:
        pipe = _cell(c["pipeline_s"])
        if c["pipeline_timed_out_after_s"]:
            pipe = f"> {c['pipeline_timed_out_after_s']:.0f} (killed)"
        naive = _cell(c["naive_s"])
        if c["naive_files_timed"] and c["naive_files_timed"] < c["files"]:
            naive += f" (from {c['naive_files_timed']} files)"
        lines.append(
            f"| {c['name']} | {c['files']} | {c['values']:,} | {_cell(c['floor_s'])} | "
            f"{_cell(c['checked_s'])} | {pipe} | {naive} | {_cell(c['naive_rules_s'])} | "
            f"{_x(ratio(c['pipeline_s'], c['floor_s']))} | "
            f"{_x(ratio(c['pipeline_s'], c['checked_s']))} | "
            f"{_x(ratio(c['naive_s'], c['pipeline_s']))} | "
            f"{_x(ratio(c['naive_rules_s'], c['pipeline_s']))} | {c['peak_rss_mb']:.0f} | "
            + "/".join(str(c["runs"][w]) for w in WAYS_SHOWN) + " |")
    rss = ["{} {}".format(c["name"], " / ".join(f"{c['peak_rss_mb_by_way'][w]:.0f}"
                                                 for w in WAYS_SHOWN))
           for c in results["cases"]]
    lines += ["", "Peak memory of the pipeline with its forked helpers and GX worker (the sum of "
              "their PSS, sampled every 0.2 s), MB: " + "; ".join(
                  f"{c['name']} {c['peak_tree_pss_mb']:.0f}" for c in results["cases"]) + "."]
    lines += ["", "Peak RSS of every way, MB (floor / checked / pipeline / naive / naive with "
              "the project's rules): "
              + "; ".join(rss)
              + ". The floor holds every row in one list for its single `executemany`."]
    for c in results["cases"]:
        stages = c.get("stages_s")
        if stages and c["pipeline_s"]:
            total = sum(stages.get(k, 0) for k in STAGES)
            lines += ["", f"Stages of {c['name']} (the median pipeline run, {total:.2f} s): "
                      + ", ".join(f"{k} {stages.get(k, 0):.2f} s "
                                  f"({100 * stages.get(k, 0) / total:.0f} %)" for k in STAGES)
                      + "."]
            if "publish.xlsx" in stages:
                lines[-1] += (" Of publish: " + ", ".join(
                    f"{PUBLISH_LABELS[k]} {stages.get(k, 0):.2f} s" for k in PUBLISH_LABELS) + ".")
    cold = results["cold_start"]
    province = next((c for c in results["cases"] if c["name"].startswith("province")), None)
    lines += ["", f"Cold start (medians): interpreter {cold['python_s']} s, "
              f"`import great_expectations` {cold['import_great_expectations_s']} s, "
              f"`import planstats.pipeline` {cold['import_planstats_pipeline_s']} s"]
    if province:
        lines[-1] += (f"; in the pipeline worker, imports {province['import_s']['pipeline']} s "
                      f"and the first pipeline call (one file, fresh warehouse and GX project) "
                      f"{province['first_call_s']['pipeline']} s.")
    lines += ["", "Targets:", ""]
    for name, t in results["targets"].items():
        if name == "community_linear":
            for s in t["steps"]:
                verdict = {True: "met", False: "NOT met", None: "undecided"}[s["time_met"]]
                lines.append(
                    f"- {s['from']} → {s['to']}: {s['data_x']}× data, "
                    f"{_x(s['time_x'])} time ({verdict}), {_x(s['rss_x'])} peak RSS "
                    f"({'bounded' if s['rss_bounded'] else 'NOT bounded'})")
                if "stages" in s:
                    lines.append("  - stages that finished in both, small → big: " + "; ".join(
                        f"{x['stage']} {x['small_s']} → {x['big_s']} s ({_x(x['x'])})"
                        for x in s["stages"]))
        else:
            shown = _x(t["ratio"]) if "unit" not in t else f"{_cell(t['ratio'])}{t['unit']}"
            lines.append(f"- {name}: {shown} (target {t['target']}): "
                         f"{'met' if t['met'] else 'NOT met'}")
    for c in results["cases"]:
        if c["pipeline_timed_out_after_s"]:
            done = "; ".join(f"{k} {v} s" for k, v in _stages(c).items())
            lines += ["", f"{c['name']}: the pipeline was killed after "
                      f"{c['pipeline_timed_out_after_s']:.0f} s (linear growth from the size "
                      f"below would have been {_cell(c['pipeline_linear_projection_s'])} s); "
                      f"finished before that: {done or 'nothing'}."]
    return "\n".join(lines)


def _stage(event: dict[str, Any]) -> str:
    return " ".join(str(event[k]) for k in ("event", "plan", "year") if k in event)


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:g}×"


def write_readme(section: str) -> None:
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{section}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: two small cases")
    parser.add_argument("--sizes", type=int, nargs="*", help="community sizes (default 1/100, "
                        "1/10 and all of 8,266)")
    parser.add_argument("--no-province", action="store_true")
    parser.add_argument("--readme", action=argparse.BooleanOptionalAction, default=None,
                        help="rewrite the results in bench/README.md (default: unless --quick)")
    parser.add_argument("--render-only", action="store_true",
                        help="re-judge and re-render an existing results JSON, run nothing")
    args = parser.parse_args(argv)
    out = Path(os.environ.get("BENCH_OUT") or BENCH / "results.json")
    if args.render_only:
        results = json.loads(out.read_text(encoding="utf-8"))
        results["targets"] = targets(results["cases"])
        return report(results, out, args.readme is not False)
    began = time.perf_counter()
    quick = Plan(floor_runs=1, pipeline_runs=1, naive_runs=1, naive_files=3, budget=60,
                 timeout=180, probe=60)
    plan = quick if args.quick else Plan()
    sizes = args.sizes if args.sizes is not None else (SIZES[:1] if args.quick else SIZES)

    include = snapshot_include()
    env = worker_env(include)
    os.environ.update({"PLANSTATS_INCLUDE_DIR": str(include),
                       "PLANSTATS_DATA_DIR": str(WORK / "generate")})
    from planstats import pipeline

    set_aside(WORK / "generate")
    ctx = pipeline.context()
    print("generating (cached under bench/work/data) …", flush=True)
    cases = gen.build(ctx, WORK / "data", gen.fingerprint(include), sizes,
                      province=not args.no_province)
    results: dict[str, Any] = {
        "machine": machine(), "date": time.strftime("%Y-%m-%d"), "quick": args.quick,
        "cold_start": cold_start(env, 1 if args.quick else 3),
        "method": {"plan": plan.__dict__, "timing": "warm process, imports and a first call "
                   "on one file done before timing; median of the runs; fresh copy of the "
                   "files and fresh stores per run", "naive_extrapolation": "linear in files"},
    }
    results["cases"] = []
    for case in cases:
        last = next((c for c in reversed(results["cases"]) if c["pipeline_s"]
                     and c["name"].split("-")[0] == case.name.split("-")[0]), None)
        projected = last["pipeline_s"] * case.values / last["values"] if last else None
        results["cases"].append(run_case(case, plan, env, projected))
    results["targets"] = targets(results["cases"])
    results["total_s"] = round(time.perf_counter() - began, 1)
    empty_trash()
    return report(results, out, args.readme if args.readme is not None else not args.quick)


def report(results: dict[str, Any], out: Path, readme: bool) -> int:
    """Write the JSON, print the Markdown, and put it in bench/README.md if asked."""
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    section = markdown(results)
    print(section)
    if readme:
        write_readme(section)
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
