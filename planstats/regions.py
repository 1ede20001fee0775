"""The region tree: 四川省 → cities → counties (GB/T 2260), and reporting units below a county."""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from threading import Lock

import yaml


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str
    parent: str | None


class RegionTree:
    """Regions by code, with the tree walks the roll-up and ownership checks need."""

    def __init__(self, regions: list[Region], source: str = "") -> None:
        self.source = source
        self._learning = Lock()
        self.by_code = {r.code: r for r in regions}
        self.children: dict[str, list[str]] = {}
        for r in regions:
            if r.parent:
                self.children.setdefault(r.parent, []).append(r.code)

    def __contains__(self, code: str) -> bool:
        return code in self.by_code

    def __getitem__(self, code: str) -> Region:
        return self.by_code[code]

    def name(self, code: str) -> str:
        region = self.by_code.get(code)
        return region.name if region else code

    def ancestors(self, code: str) -> list[str]:
        """The code itself, then its parent, … up to the root."""
        chain = []
        current: str | None = code
        while current is not None and current in self.by_code:
            chain.append(current)
            current = self.by_code[current].parent
        return chain

    def descendants(self, code: str) -> list[str]:
        """The code itself and every region below it, parents before children."""
        out, stack = [], [code]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self.children.get(current, [])))
        return out

    def regions(self) -> list[Region]:
        """Every region known now, as a list: the tree is shared by a process's threads, and a
        unit learned meanwhile (``with_unit``) must not change a walk under way."""
        return list(self.by_code.values())

    def codes_at(self, *levels: str) -> set[str]:
        return {r.code for r in self.regions() if r.level in levels}

    @property
    def root(self) -> str:
        """The code of the region above all others (四川省)."""
        return next(r.code for r in self.regions() if r.parent is None)

    def counties_under(self, code: str) -> list[str]:
        """County-level reporting units at or below ``code``."""
        return [c for c in self.descendants(code) if self.by_code[c].level == "county"]

    def is_within(self, code: str, ancestor: str) -> bool:
        return ancestor in self.ancestors(code)

    def with_unit(self, code: str, name: str | None = None) -> Region | None:
        """Register a town (9 digits) or community (12 digits) below a known county, by its code."""
        if code in self.by_code:
            return self.by_code[code]
        if not code.isdigit() or len(code) not in (9, 12) or code[:6] not in self.by_code:
            return None
        parent = code[:9] if len(code) == 12 and code[:9] in self.by_code else code[:6]
        with self._learning:
            if code in self.by_code:  # another thread was first
                return self.by_code[code]
            region = Region(code, name or code, "town" if len(code) == 9 else "community",
                            parent)
            # in code order, whatever order the files named them in: the published row
            # order must not depend on which process met the units first
            insort(self.children.setdefault(parent, []), code)
            self.by_code[code] = region
        return region

    def learn(self, codes: Iterable[str]) -> None:
        """Register the units among ``codes`` not yet known, towns before their communities.

        A process that publishes without having validated the files (another worker, the
        CLI) meets the units only in the warehouse's rows. The tree is shared by the threads
        of a process: walks over every region go through ``regions()``, a list.
        """
        new = {c for c in codes if c not in self.by_code}  # lookups: no walk over the dict
        for code in sorted(new, key=lambda c: (len(c), c)):
            self.with_unit(code)


def load_regions(regions_dir: Path) -> RegionTree:
    regions: list[Region] = []
    sources = []
    for path in sorted(regions_dir.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        sources.append(f"{path.name}: {doc.get('source', '')}")
        for entry in doc["regions"]:
            parent = entry.get("parent")
            regions.append(Region(str(entry["code"]), entry["name"], entry["level"],
                                  None if parent is None else str(parent)))
    return RegionTree(regions, "; ".join(sources))


@cache
def regions_from(regions_dir: Path) -> RegionTree:
    return load_regions(regions_dir)
