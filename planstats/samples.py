"""Plausible county submissions for demos, tests and the benchmark (deterministic per seed)."""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planstats.catalog import Concept, Plan, entries
from planstats.templates import HEADER_ROW

if TYPE_CHECKING:
    from planstats.pipeline import Context

COMMUNITIES = 40  # denominators sized like a county's community count


def sample_values(concept: Concept, target: float, comparator: str, year: int, first: int,
                  last: int, rng: random.Random) -> tuple[float, float | None, float | None]:
    """A value on a noisy path from below the target (first year) to about it (last year)."""
    progress = (year - first + 1) / (last - first + 1)
    reach = min(1.0, 0.75 + 0.25 * progress + rng.uniform(-0.04, 0.06))
    if comparator == "<=":
        reach = 2 - reach
    goal = target * reach
    if concept.aggregation == "ratio":
        scale = concept.scale or 100
        if scale >= 1000:  # per thousand / ten thousand residents
            den = float(rng.randrange(300_000, 420_000))
        elif scale == 1:
            den = float(COMMUNITIES)
        else:
            den = float(rng.randrange(COMMUNITIES, COMMUNITIES * 8))
        num = round(goal * den / scale)
        if concept.valid_max is not None and concept.valid_max <= scale:
            num = min(num, den)
        return round(scale * num / den, 2), float(num), den
    if concept.aggregation == "weighted_mean":
        return round(min(goal, concept.valid_max or goal), 1), None, float(rng.randrange(300, 900))
    value = goal if not concept.integer else float(round(goal))
    if concept.valid_max is not None:
        value = min(value, concept.valid_max)
    return round(value, 3), None, None


def year_values(ctx: Context, region: str, year: int,
                rng: random.Random) -> dict[str, tuple[Any, Any, Any]]:
    """Values for every indicator the region reports that year, on the most local plan's path."""
    plans = ctx.catalog.plans_for(ctx.regions.ancestors(region), year)
    values = {}
    for code, entry in entries(plans, region).items():
        plan, ind = entry.uses[0]  # sampled in the concept's unit, written in the one asked
        value, numerator, denominator = sample_values(
            ind.concept, ind.stat_target / ind.stat_factor, ind.stat_comparator, year,
            plan.period_start, plan.period_end, rng)
        values[code] = (entry.entered(value), numerator, denominator)
    for plan in plans:
        _keep_rules(plan, values)
    return values


def _keep_rules(plan: Plan, values: dict[str, tuple[Any, Any, Any]]) -> None:
    """Make a plan's one-to-one ``<=`` rules hold, as real data does (完成率 ≤ 应答率)."""
    for rule in plan.rules:
        if rule.operator != "<=" or len(rule.left) != 1 or len(rule.right) != 1:
            continue
        (left,), (right,) = rule.left, rule.right
        if left not in values or right not in values:
            continue
        (lv, ln, ld), (rv, rn, rd) = values[left], values[right]
        if ln is not None and rn is not None and ld and rd and rv:
            # the same 分母 for both; the left rate kept as sampled, capped by the right one
            num = min(rn, float(round(rn * min(lv, rv) / rv)))
            values[left] = (round(rv * num / rn, 2) if rn else 0.0, num, rd)
        elif lv is not None and rv is not None and lv > rv:
            values[left] = (rv, ln, ld)


def fill_workbook(path: Path, values: dict[str, tuple[Any, Any, Any]], reporter: str,
                  notes: dict[str, str] | None = None) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb["指标数据"]
    for row in range(HEADER_ROW + 1, ws.max_row + 1):
        code = ws.cell(row=row, column=1).value
        if code in values:
            for col, value in zip((5, 6, 7), values[code], strict=True):
                ws.cell(row=row, column=col, value=value)
        if notes and code in notes:
            ws.cell(row=row, column=8, value=notes[code])
    info = wb["填报信息"]
    info["B5"] = reporter
    info["B6"] = "0827-1234567"
    wb.save(path)


def write_samples(ctx: Context, region: str, years: Iterable[int], inbox: Path,
                  broken: bool = True, seed: int = 2025) -> list[Path]:
    """One good workbook per year, and (with ``broken``) files a county might really send."""
    from planstats.pipeline import make_template

    folder = inbox / region
    folder.mkdir(parents=True, exist_ok=True)
    name = ctx.regions.name(region)
    written: list[Path] = []
    years = list(years)
    for year in years:
        rng = random.Random(f"{seed}-{region}-{year}")
        values = year_values(ctx, region, year, rng)
        path = folder / f"{name}_{year}年度规划指标统计.xlsx"
        make_template(region, year, path, ctx)
        fill_workbook(path, values, reporter="张三")
        written.append(path)
        if broken and year == years[len(years) // 2]:
            written.append(_broken_workbook(ctx, region, year, folder, values))
        if broken and year == years[-1]:
            written.append(_correction_csv(ctx, region, year, folder, values, rng))
    if broken:
        bad = folder / "损坏的文件.xlsx"
        bad.write_bytes(b"PK\x03\x04 this is not really a workbook")
        written.append(bad)
    for age, path in enumerate(reversed(written), start=1):
        stamp = path.stat().st_mtime - 60 * age
        os.utime(path, (stamp, stamp))
    return written


def _broken_workbook(ctx: Context, region: str, year: int, folder: Path,
                     values: dict[str, tuple[Any, Any, Any]]) -> Path:
    """Typical slips: a rate over 100, text in a number cell, 分子 larger than 分母."""
    from planstats.pipeline import make_template

    codes = [c for c, v in values.items() if v[1] is not None]
    bad = dict(values)
    first, second, third = codes[0], codes[1], codes[2]
    bad[first] = (120, values[first][1], values[first][2])
    bad[second] = ("约九成", values[second][1], values[second][2])
    bad[third] = (values[third][0], (values[third][2] or 0) + 5, values[third][2])
    path = folder / f"{ctx.regions.name(region)}_{year}年度_有错误.xlsx"
    make_template(region, year, path, ctx)
    fill_workbook(path, bad, reporter="李四")
    return path


def _correction_csv(ctx: Context, region: str, year: int, folder: Path,
                    values: dict[str, tuple[Any, Any, Any]], rng: random.Random) -> Path:
    """A GBK CSV correcting a few rates: supersedes the year's workbook, history kept."""
    path = folder / f"{year}年度更正.csv"
    with path.open("w", encoding="gbk", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["行政区划代码", "统计年度", "指标代码", "本年值", "分子", "分母", "说明"])
        for code, (value, num, den) in values.items():
            scale = ctx.catalog.concepts[code].scale
            if scale and num is not None and den and num < den and rng.random() < 0.2:
                num += 1
                value = round(scale * num / den, 2)
            writer.writerow([region, year, code, value, num, den, ""])
    return path
