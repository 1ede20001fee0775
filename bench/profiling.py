"""Profile this pipeline on one generated case, warm (imports and a first call not profiled).

``python bench/profiling.py [CASE]`` after ``make bench`` (or ``bench/run.py --quick``) generated
the case. Uses pyinstrument when installed (``.venv/bin/pip install pyinstrument``; not a
project dependency), else cProfile. Writes bench/work/profile-<case>.{html,txt}.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

import ways
from gen import Case

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("case", nargs="?", default="province-2025")
    args = parser.parse_args(argv)
    root = WORK / "data" / args.case
    meta = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    case = Case(meta["name"], root, meta["files"], meta["values"], tuple(meta["years"]))
    os.environ.setdefault("PLANSTATS_INCLUDE_DIR", str(WORK / "include"))
    paths = case.paths()
    ways.run_once("pipeline", case, paths[:1], WORK / "profile-first")  # warm up
    copies = ways.fresh_inbox(case, paths, WORK / "profile-run")
    ctx = ways._pipeline_context(WORK / "profile-run")
    out = WORK / f"profile-{case.name}"
    try:
        from pyinstrument import Profiler
    except ImportError:
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.runcall(ways.pipeline_way, copies, ctx)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(60)
        out.with_suffix(".txt").write_text(text.getvalue(), encoding="utf-8")
    else:
        profiler = Profiler(interval=0.002)
        start = time.perf_counter()
        profiler.start()
        ways.pipeline_way(copies, ctx)
        profiler.stop()
        out.with_suffix(".html").write_text(profiler.output_html(), encoding="utf-8")
        out.with_suffix(".txt").write_text(profiler.output_text(show_all=False),
                                           encoding="utf-8")
    print(f"{case.name}: {time.perf_counter() - start:.2f} s profiled; {out}.*")
    return 0


if __name__ == "__main__":
    sys.exit(main())
