"""Deterministic benchmark inputs, cached under bench/work/data/<case>/.

province-2025: every county of 四川省 fills the pre-filled workbook of 2025 (the real template
path: ``make_template`` + ``fill_workbook`` + ``year_values``). community-N: N communities below
their counties report 2021–2025 in one CSV per county and year.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planstats.pipeline import Context

GEN_VERSION = "1"  # bump when the generated files change for the same catalog
PROVINCE = "510000"
PROVINCE_YEAR = 2025
COMMUNITY_YEARS = (2021, 2022, 2023, 2024, 2025)
COMMUNITIES = 8266  # 四川省's communities in the issue's scenario
PER_TOWN = 15  # communities numbered within towns: <county><town:3><community:3>
CSV_HEADER = ("行政区划代码", "统计年度", "指标代码", "本年值", "分子", "分母", "说明")


@dataclass(frozen=True)
class Case:
    """One benchmark input: a folder of landing-zone files (``inbox/<county>/<file>``)."""

    name: str
    root: Path
    files: int
    values: int
    years: tuple[int, ...]

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def paths(self, year: int | None = None) -> list[Path]:
        """The case's files (of one year), in a stable order."""
        found = sorted(p for p in self.inbox.glob("*/*") if p.is_file())
        return [p for p in found if year is None or f"_{year}" in p.name]


def fingerprint(include_dir: Path) -> str:
    """Hash of what the generated files depend on: catalog, regions, the sample and template
    code, and the generator version."""
    import planstats.samples
    import planstats.templates

    digest = hashlib.sha256(GEN_VERSION.encode())
    for module in (planstats.samples, planstats.templates):
        digest.update(Path(module.__file__ or "").read_bytes())
    for sub in ("catalog", "regions"):
        for path in sorted((include_dir / sub).rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(include_dir)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cached(root: Path, key: str) -> Case | None:
    manifest = root / "manifest.json"
    if not manifest.is_file():
        return None
    meta = json.loads(manifest.read_text(encoding="utf-8"))
    if meta.get("key") != key:
        return None
    return Case(meta["name"], root, meta["files"], meta["values"], tuple(meta["years"]))


def _save(root: Path, key: str, name: str, files: int, values: int,
          years: Iterable[int]) -> Case:
    meta = {"key": key, "name": name, "files": files, "values": values, "years": list(years)}
    (root / "manifest.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return Case(name, root, files, values, tuple(meta["years"]))


def province_case(ctx: Context, work: Path, key: str) -> Case:
    """Every county's 2025 workbook, covering every plan in period over it."""
    from planstats.pipeline import make_template
    from planstats.samples import fill_workbook, year_values

    name = f"province-{PROVINCE_YEAR}"
    root = work / name
    case = _cached(root, key)
    if case:
        return case
    shutil.rmtree(root, ignore_errors=True)
    values = 0
    counties = ctx.regions.counties_under(PROVINCE)
    for county in counties:
        file_name = f"{ctx.regions.name(county)}_{PROVINCE_YEAR}年度规划指标统计.xlsx"
        path = root / "inbox" / county / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        make_template(county, PROVINCE_YEAR, path, ctx)
        filled = year_values(ctx, county, PROVINCE_YEAR, random.Random(f"bench-{county}"))
        fill_workbook(path, filled, reporter="张三")
        values += len(filled)
    return _save(root, key, name, len(counties), values, (PROVINCE_YEAR,))


def spread(total: int, counties: list[str]) -> dict[str, int]:
    """``total`` communities over the counties by fixed random weights (largest remainder)."""
    rng = random.Random("bench-spread")
    weights = {c: rng.uniform(0.4, 1.6) for c in counties}
    scale = total / sum(weights.values())
    exact = {c: w * scale for c, w in weights.items()}
    out = {c: int(x) for c, x in exact.items()}
    for c in sorted(counties, key=lambda c: out[c] - exact[c])[:total - sum(out.values())]:
        out[c] += 1
    return out


def community_code(county: str, index: int) -> str:
    """12-digit code of the county's ``index``-th community (from 0)."""
    return f"{county}{index // PER_TOWN + 1:03d}{index % PER_TOWN + 1:03d}"


def community_case(ctx: Context, work: Path, key: str, communities: int) -> Case:
    """One CSV per county and year with its communities' values (and its owner-only ones)."""
    from planstats.samples import year_values

    name = f"community-{communities}"
    root = work / name
    case = _cached(root, key)
    if case:
        return case
    shutil.rmtree(root, ignore_errors=True)
    files = values = 0
    concepts = ctx.catalog.concepts
    for county, count in spread(communities, ctx.regions.counties_under(PROVINCE)).items():
        if not count:
            continue
        folder = root / "inbox" / county
        folder.mkdir(parents=True)
        for year in COMMUNITY_YEARS:
            rows: list[tuple[Any, ...]] = []
            own = year_values(ctx, county, year, random.Random(f"bench-{county}-{year}"))
            for code, (value, num, den) in own.items():
                if concepts[code].aggregation == "owner_only":
                    rows.append((county, year, code, value, num, den, ""))
            for index in range(count):
                unit = community_code(county, index)
                rng = random.Random(f"bench-{unit}-{year}")
                for code, triple in year_values(ctx, county, year, rng).items():
                    concept = concepts[code]
                    if concept.aggregation == "owner_only":
                        continue
                    rows.append((unit, year, code, *_per_community(concept, triple, count), ""))
            path = folder / f"{county}_{year}_社区.csv"
            with path.open("w", encoding="utf-8-sig", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(CSV_HEADER)
                writer.writerows(rows)
            files += 1
            values += len(rows)
    return _save(root, key, name, files, values, COMMUNITY_YEARS)


def _per_community(concept: Any, triple: tuple[Any, Any, Any],
                   count: int) -> tuple[Any, Any, Any]:
    """A county-sized count split over its communities; rates and means stay as they are."""
    value, num, den = triple
    if concept.aggregation != "sum" or value is None:
        return value, num, den
    share = value / count
    return (float(round(share)) if concept.integer else round(share, 3)), num, den


def build(ctx: Context, work: Path, key: str, sizes: Iterable[int],
          province: bool = True) -> list[Case]:
    """The cases, generated once per catalog fingerprint and reused from the cache after."""
    cases = [province_case(ctx, work, key)] if province else []
    return cases + [community_case(ctx, work, key, n) for n in sizes]
