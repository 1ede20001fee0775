"""``python -m tests.corpus [DIR]``: write the corpus, read each case in its own process, print
the rule, time and peak memory (a table for reports; the tests assert the same things)."""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    import os

    base = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="planstats-corpus-"))
    os.environ["PLANSTATS_DATA_DIR"] = str(base / "data")
    from planstats import pipeline
    from planstats.samples import fill_workbook, year_values
    from tests.corpus import measure, write_corpus

    ctx = pipeline.context()
    good = base / "good.xlsx"
    pipeline.make_template("511903", 2023, good, ctx)
    fill_workbook(good, year_values(ctx, "511903", 2023, random.Random(1)), reporter="测试")
    folder = base / "inbox" / "511903"
    cases = write_corpus(folder, good, ctx.settings.max_file_mb)
    print(f"corpus in {folder}")
    print(f"{'file':<40} {'expected':<16} {'got':<32} {'seconds':>8} {'peak MB':>8}")
    for case in [None, *cases]:
        path = good if case is None else folder / case.name
        got = measure(path, "511903")
        if "crashed" in got:
            print(f"{path.name:<40} CRASHED {got['crashed']}: {got['stderr'][-300:]}")
            continue
        rules = sorted({i["rule"] for i in got["issues"] if i["severity"] == "error"})
        print(f"{path.name:<40} {case.expect if case else 'accepted':<16} "
              f"{','.join(rules) or 'no errors':<32} {got['seconds']:>8.3f} {got['peak_mb']:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
