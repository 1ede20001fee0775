"""Who decides what: the reviewer's identity and regions, and the level that decides each region.

As in DHIS2, a region's data is decided one level up: a county's submission by its city, a
city's figures by the province; the root decides its own. A reviewer listed in
PLANSTATS_REVIEWER_REGIONS decides only where the deciding region lies in one of their subtrees.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from planstats.settings import Settings
from planstats.warehouse import Warehouse

CLI_PREFIX = "cli:"


class ReviewError(ValueError):
    """A decision that does not apply to the data as it is (message in Chinese)."""


@dataclass(frozen=True)
class Reviewer:
    """The logged-in user as the review model sees them.

    ``regions`` None: no regional limit; a set: those regions and their subtrees only.
    ``may_decide``: the auth manager lets them edit the planstats DAGs (viewers read only).
    """

    name: str
    regions: frozenset[str] | None
    may_decide: bool


def reviewer_scope(settings: Settings, username: str, may_decide: bool) -> Reviewer:
    """The Reviewer for a user the web layer (or CLI) authenticated.

    With PLANSTATS_REVIEWER_REGIONS set, a user it does not list decides nowhere.
    """
    mapping = settings.reviewer_regions
    if mapping is None:
        return Reviewer(username, None, may_decide)
    return Reviewer(username, frozenset(mapping.get(username, ())), may_decide)


def cli_reviewer(settings: Settings) -> Reviewer:
    """Whoever runs the CLI on the server, recorded as ``cli:<operating-system user>``."""
    return reviewer_scope(settings, CLI_PREFIX + getpass.getuser(), may_decide=True)


class Tree:
    """The approval levels of the region tree (province, city, county) as the warehouse has them."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self.rows = {r["region_code"]: r for r in rows}

    @classmethod
    def of(cls, wh: Warehouse) -> Tree:
        return _tree_of(wh)

    def name(self, code: str) -> str:
        row = self.rows.get(code)
        return row["name"] if row else code

    def level(self, code: str) -> str | None:
        row = self.rows.get(code)
        return row["level"] if row else None

    def parent(self, code: str) -> str | None:
        row = self.rows.get(code)
        return row["parent_code"] if row else None

    def ancestors(self, code: str) -> list[str]:
        """The code itself, then up to the root."""
        chain = [code]
        while (parent := self.parent(chain[-1])) is not None and parent not in chain:
            chain.append(parent)
        return chain

    def decider(self, code: str) -> str:
        """The region whose reviewers decide ``code``'s data: its parent, or itself at the root."""
        return self.parent(code) or code

    def children(self, code: str) -> list[str]:
        return sorted(c for c, r in self.rows.items() if r["parent_code"] == code)


@cache
def _tree_of(wh: Warehouse) -> Tree:
    """Read once per warehouse: these levels come from configuration (units added at load are
    towns and communities, below them)."""
    return Tree(wh.rows("review/regions"))


def covers(reviewer: Reviewer, tree: Tree, code: str) -> bool:
    """May the reviewer decide ``code``'s data (ignoring may_decide)?"""
    if reviewer.regions is None:
        return True
    return any(a in reviewer.regions for a in tree.ancestors(tree.decider(code)))


def require(reviewer: Reviewer, tree: Tree, code: str) -> None:
    """Raise PermissionError (Chinese) unless the reviewer may decide ``code``'s data."""
    if not reviewer.may_decide:
        raise PermissionError(f"用户 {reviewer.name} 只有查看权限，不能作出审核决定。")
    if not covers(reviewer, tree, code):
        mine = "、".join(tree.name(c) for c in sorted(reviewer.regions or ())) or "（未配置地区）"
        raise PermissionError(
            f"用户 {reviewer.name} 负责审核 {mine} 范围内的数据，"
            f"不能对 {tree.name(code)}（{code}）的数据作出审核决定。")
