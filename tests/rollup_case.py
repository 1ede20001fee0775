"""A small plan over 巴中市's five counties with hand-computed statistics (see test_rollup)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITY = "511900"
COUNTIES = ("511902", "511903", "511921", "511922", "511923")

CONCEPTS = """
concepts:
  - {code: ZB9001, name: 测试覆盖率, unit: '%', aggregation: ratio, scale: 100,
     numerator: 已覆盖社区数, denominator: 社区总数, valid_range: [0, 100]}
  - {code: ZB9002, name: 测试个数, unit: 个, aggregation: sum, valid_range: [0, null],
     integer: true}
  - {code: ZB9003, name: 测试事件数, unit: 起, aggregation: sum, valid_range: [0, null],
     integer: true, direction: lower}
  - {code: ZB9004, name: 测试满意度, unit: '%', aggregation: weighted_mean, weight: 受访人数,
     valid_range: [0, 100]}
"""

PLAN = """
plan: {code: test-city, name: 测试市规划, short_name: 测试市, region_code: '511900',
       period_start: 2021, period_end: 2025, baseline_year: 2020}
indicators:
  - {code: ZB9001, seq: 1, category: 测试, name: 测试覆盖率, target: '≥90', attribute: 约束性,
     target_year: 2025, baseline: 70, baseline_year: 2020, source_text: 测试}
  - {code: ZB9002, seq: 2, category: 测试, name: 测试个数, target: '≥100', attribute: 预期性,
     target_year: 2025, source_text: 测试}
  - {code: ZB9003, seq: 3, category: 测试, name: 测试事件数, target: '≤10', attribute: 约束性,
     target_year: 2025, source_text: 测试}
  - {code: ZB9004, seq: 4, category: 测试, name: 测试满意度, target: '90以上', attribute: 预期性,
     target_year: 2025, source_text: 测试}
"""

# (region, ZB9001 分子, 分母, ZB9002, ZB9003, ZB9004 value, weight), per county folder.
# 511903 reports itself and one community (which must not count twice); 511921 reports only
# through two communities; 511923 does not report at all.
ROWS = {
    "511902": [("511902", 45, 50, 30, 4, 92, 100)],
    "511903": [("511903", 30, 40, 20, 8, 88, 300), ("511903001001", 10, 10, 5, 1, 99, 40)],
    "511921": [("511921100001", 8, 10, 4, 3, 95, 50), ("511921100002", 1, 10, 6, 2, 85, 50)],
    "511922": [("511922", 20, 20, 15, 3, 80, 100)],
}


def make_include(tmp: Path) -> Path:
    """An include dir with the real SQL, templates and regions and this test catalog."""
    from planstats.catalog import load_catalog
    from planstats.expectations import write_suites

    include = tmp / "include"
    for part in ("sql", "templates", "regions"):
        shutil.copytree(ROOT / "include" / part, include / part)
    (include / "catalog" / "concepts").mkdir(parents=True)
    (include / "catalog" / "plans").mkdir(parents=True)
    (include / "catalog" / "concepts" / "test.yaml").write_text(CONCEPTS, encoding="utf-8")
    (include / "catalog" / "plans" / "test-city.yaml").write_text(PLAN, encoding="utf-8")
    write_suites(load_catalog(include / "catalog"), include / "expectations")
    return include


# 511922 reports through two towns instead: 511922100 itself (its community must not count
# above it), 511922101 only through its two communities (its own rows left empty: 缺报).
TOWN_ROWS = {**ROWS, "511922": [
    ("511922100", 20, 20, 15, 3, 80, 100), ("511922100001", 5, 5, 7, 1, 70, 10),
    ("511922101", None, None, None, None, None, None),
    ("511922101001", 3, 4, 2, 1, 60, 30), ("511922101002", 1, 4, 4, 2, 90, 10)]}


def write_inbox(inbox: Path, year: int, files: dict[str, list[tuple]] = ROWS) -> None:
    for county, rows in files.items():
        folder = inbox / county
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{year}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(
                ["行政区划代码", "统计年度", "指标代码", "本年值", "分子", "分母", "说明"])
            for region, num, den, count, events, satisfaction, weight in rows:
                if num is None:
                    writer.writerows([region, year, code, "", "", "", ""]
                                     for code in ("ZB9001", "ZB9002", "ZB9003", "ZB9004"))
                    continue
                writer.writerow([region, year, "ZB9001", round(100 * num / den, 2), num, den, ""])
                writer.writerow([region, year, "ZB9002", count, "", "", ""])
                writer.writerow([region, year, "ZB9003", events, "", "", ""])
                writer.writerow([region, year, "ZB9004", satisfaction, "", weight, ""])
