"""The indicator catalog: plans, their indicators and the shared dictionary of concepts.

Loaded from reviewed YAML under ``include/catalog`` (see its README). A malformed file is refused
with a message naming the file, the plan and the field.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

AGGREGATIONS = ("sum", "ratio", "weighted_mean", "min", "max", "count_meeting", "owner_only")
ATTRIBUTES = ("约束性", "预期性")
COMPARATORS = (">=", "<=", "=")
SEVERITIES = ("error", "warning")


class CatalogError(ValueError):
    """A catalog file that cannot be used as it is."""


@dataclass(frozen=True)
class Concept:
    """One measurable thing a county reports once, whichever plans ask for it."""

    code: str
    name: str
    unit: str
    aggregation: str
    valid_min: float | None
    valid_max: float | None
    aliases: tuple[str, ...] = ()
    scale: float | None = None
    numerator: str | None = None
    denominator: str | None = None
    weight: str | None = None
    integer: bool = False
    direction: str = "higher"
    yoy_threshold: float | None = None  # percent; None: the suites' default

    @property
    def needs_numerator(self) -> bool:
        return self.aggregation == "ratio"

    @property
    def needs_denominator(self) -> bool:
        return self.aggregation in ("ratio", "weighted_mean")


@dataclass(frozen=True)
class Indicator:
    """A concept as one plan uses it: with that plan's category, target and attribute."""

    concept: Concept
    seq: int
    category: str
    name: str
    target_text: str
    comparator: str
    target: float
    attribute: str
    target_year: int
    source_text: str
    baseline: float | None = None
    baseline_year: int | None = None
    attribute_inferred: bool = False
    note: str | None = None

    @property
    def code(self) -> str:
        return self.concept.code


@dataclass(frozen=True)
class Rule:
    """A consistency rule between indicators of one plan: Σ left ``operator`` Σ right."""

    id: str
    left: tuple[str, ...]
    operator: str
    right: tuple[str, ...]
    severity: str = "error"
    tolerance: float = 0.0
    reason: str = ""
    source_text: str = ""


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    short_name: str
    region_code: str
    period_start: int
    period_end: int
    baseline_year: int | None
    deadline: str
    source: str
    indicators: tuple[Indicator, ...]
    source_section: str = ""
    rules: tuple[Rule, ...] = ()

    def indicator(self, code: str) -> Indicator:
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(code)

    def covers_year(self, year: int) -> bool:
        return self.period_start <= year <= self.period_end


@dataclass(frozen=True, eq=False)
class Catalog:
    plans: dict[str, Plan]
    concepts: dict[str, Concept]
    names: dict[str, str] = field(default_factory=dict)

    def plan(self, code: str) -> Plan:
        try:
            return self.plans[code]
        except KeyError:
            known = ", ".join(sorted(self.plans))
            raise CatalogError(f"unknown plan {code!r}; known plans: {known}") from None

    def plans_for(self, region_chain: list[str], year: int) -> list[Plan]:
        """Plans owned by a region of the chain (a region and its ancestors) in period that year."""
        chain = set(region_chain)
        return [p for p in self.plans.values() if p.region_code in chain and p.covers_year(year)]

    def concept_by_name(self, name: str) -> Concept | None:
        """Match an indicator name in any spelling (simplified, traditional, alias)."""
        return self.concepts.get(self.names.get(normalise_name(name), ""))


def required_indicators(
    plans: list[Plan], region_code: str
) -> dict[str, list[tuple[Plan, Indicator]]]:
    """Concept code → the (plan, indicator) pairs asking the region for it, most local plan first.

    An ``owner_only`` indicator is asked of its plan's owner region only.
    """
    out: dict[str, list[tuple[Plan, Indicator]]] = {}
    for plan in sorted(plans, key=lambda p: -len(p.region_code.rstrip("0"))):
        for ind in plan.indicators:
            if ind.concept.aggregation == "owner_only" and plan.region_code != region_code:
                continue
            out.setdefault(ind.code, []).append((plan, ind))
    return out


_TARGET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?:≥|>=|＞=|不低于|不少于|至少|达到)\s*([\d.]+)\s*%?$"), ">="),
    (re.compile(r"^([\d.]+)\s*%?\s*(?:以上|及以上)$"), ">="),
    (re.compile(r"^(?:≤|<=|不高于|不超过|低于|控制在)\s*([\d.]+)\s*%?\s*(?:以内|以下)?$"), "<="),
    (re.compile(r"^([\d.]+)\s*%?\s*(?:以内|以下)$"), "<="),
    (re.compile(r"^([\d.]+)\s*%?$"), ""),
)


def parse_target(text: str, direction: str = "higher") -> tuple[str, float]:
    """Parse a plan's target text ('≥95', '90以上', '不超过10', '100') into comparator and value."""
    cleaned = unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "")
    for pattern, comparator in _TARGET_PATTERNS:
        match = pattern.match(cleaned)
        if match:
            return comparator or (">=" if direction == "higher" else "<="), float(match.group(1))
    raise ValueError(f"target {text!r} does not parse")


def normalise_name(name: str) -> str:
    """Key for matching indicator names: NFKC, no spaces or quotes, traditional → simplified."""
    from planstats.chinese import to_simplified

    text = unicodedata.normalize("NFKC", name)
    text = re.sub(r"[\s“”\"'‘’「」]", "", text)
    return to_simplified(text)


def _req(entry: dict[str, Any], key: str, where: str, why: str = "") -> Any:
    if entry.get(key) in (None, ""):
        raise CatalogError(f"{where}: field '{key}' is missing{why}")
    return entry[key]


def _concept(entry: dict[str, Any], where: str) -> Concept:
    code = str(_req(entry, "code", where))
    where = f"{where}, concept {code}"
    aggregation = _req(entry, "aggregation", where)
    if aggregation not in AGGREGATIONS:
        raise CatalogError(
            f"{where}: field 'aggregation' is {aggregation!r}, not one of {', '.join(AGGREGATIONS)}"
        )
    if aggregation == "ratio":
        for key in ("numerator", "denominator", "scale"):
            _req(entry, key, where, " (a ratio needs 分子/分母 definitions and a scale)")
    if aggregation == "weighted_mean":
        _req(entry, "weight", where, " (a weighted mean names its weight)")
    low, high = [*(entry.get("valid_range") or ()), None, None][:2]
    direction = entry.get("direction", "higher")
    if direction not in ("higher", "lower"):
        raise CatalogError(f"{where}: field 'direction' must be higher or lower")
    return Concept(
        code=code,
        name=str(_req(entry, "name", where)),
        unit=str(_req(entry, "unit", where)),
        aggregation=aggregation,
        valid_min=None if low is None else float(low),
        valid_max=None if high is None else float(high),
        aliases=tuple(entry.get("aliases") or ()),
        scale=None if entry.get("scale") is None else float(entry["scale"]),
        numerator=entry.get("numerator"),
        denominator=entry.get("denominator") or entry.get("weight"),
        weight=entry.get("weight"),
        integer=bool(entry.get("integer", False)),
        direction=direction,
        yoy_threshold=_positive(entry, "yoy_threshold", where),
    )


def _positive(entry: dict[str, Any], key: str, where: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise CatalogError(f"{where}: field '{key}' must be a positive number, not {value!r}")
    return float(value)


def _codes(entry: dict[str, Any], key: str, where: str, plan_codes: set[str]) -> tuple[str, ...]:
    value = _req(entry, key, where)
    codes = tuple(str(c) for c in (value if isinstance(value, list) else [value]))
    unknown = [c for c in codes if c not in plan_codes]
    if unknown:
        raise CatalogError(f"{where}: field '{key}' names {', '.join(unknown)}, "
                           "not an indicator of this plan")
    return codes


def _rule(entry: dict[str, Any], plan_codes: set[str], where: str) -> Rule:
    rule_id = str(_req(entry, "id", where))
    where = f"{where}, rule {rule_id}"
    operator = _req(entry, "operator", where)
    if operator not in COMPARATORS:
        raise CatalogError(f"{where}: field 'operator' must be one of {', '.join(COMPARATORS)}")
    severity = entry.get("severity", "error")
    if severity not in SEVERITIES:
        raise CatalogError(f"{where}: field 'severity' must be error or warning")
    tolerance = entry.get("tolerance", 0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
        raise CatalogError(f"{where}: field 'tolerance' must be a number ≥ 0")
    return Rule(id=rule_id, left=_codes(entry, "left", where, plan_codes), operator=operator,
                right=_codes(entry, "right", where, plan_codes), severity=severity,
                tolerance=float(tolerance), reason=str(entry.get("reason") or ""),
                source_text=str(entry.get("source_text") or ""))


def _indicator(entry: dict[str, Any], concepts: dict[str, Concept], where: str) -> Indicator:
    code = str(_req(entry, "code", where))
    where = f"{where}, indicator {code}"
    concept = concepts.get(code)
    if concept is None:
        raise CatalogError(f"{where}: field 'code' names no concept in concepts/")
    target_text = str(_req(entry, "target", where))
    try:
        comparator, target = parse_target(target_text, concept.direction)
    except ValueError as exc:
        raise CatalogError(f"{where}: field 'target' {exc}") from None
    attribute = _req(entry, "attribute", where)
    if attribute not in ATTRIBUTES:
        raise CatalogError(
            f"{where}: field 'attribute' must be 约束性 or 预期性, not {attribute!r}")
    baseline = entry.get("baseline")
    return Indicator(
        concept=concept,
        seq=int(_req(entry, "seq", where)),
        category=str(_req(entry, "category", where)),
        name=str(_req(entry, "name", where)),
        target_text=target_text,
        comparator=comparator,
        target=target,
        attribute=attribute,
        target_year=int(_req(entry, "target_year", where)),
        source_text=str(_req(entry, "source_text", where)),
        baseline=None if baseline is None else float(baseline),
        baseline_year=entry.get("baseline_year"),
        attribute_inferred=bool(entry.get("attribute_inferred", False)),
        note=entry.get("note"),
    )


def _plan(path: Path, concepts: dict[str, Concept]) -> Plan:
    doc = _read_yaml(path)
    head = doc.get("plan") or {}
    code = str(_req(head, "code", f"{path.name}"))
    where = f"{path.name}, plan {code}"
    indicators = [_indicator(e, concepts, where) for e in doc.get("indicators") or ()]
    if not indicators:
        raise CatalogError(f"{where}: field 'indicators' is empty")
    seen: set[str] = set()
    for ind in indicators:
        if ind.code in seen:
            raise CatalogError(f"{where}, indicator {ind.code}: duplicate code in this plan")
        seen.add(ind.code)
    rules = [_rule(e, seen, where) for e in doc.get("rules") or ()]
    if len({r.id for r in rules}) != len(rules):
        raise CatalogError(f"{where}: field 'rules' repeats a rule id")
    return Plan(
        code=code,
        name=str(_req(head, "name", where)),
        short_name=str(head.get("short_name") or head["name"]),
        region_code=str(_req(head, "region_code", where)),
        period_start=int(_req(head, "period_start", where)),
        period_end=int(_req(head, "period_end", where)),
        baseline_year=head.get("baseline_year"),
        deadline=str(head.get("deadline") or "01-31"),
        source=str(head.get("source") or ""),
        source_section=str(head.get("source_section") or ""),
        indicators=tuple(indicators),
        rules=tuple(rules),
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise CatalogError(f"{path.name}: expected a mapping at the top level")
    return doc


def load_catalog(catalog_dir: Path) -> Catalog:
    """Load and check every concept and plan file under ``catalog_dir``."""
    concepts: dict[str, Concept] = {}
    for path in sorted((catalog_dir / "concepts").glob("*.yaml")):
        for entry in _read_yaml(path).get("concepts") or ():
            concept = _concept(entry, path.name)
            if concept.code in concepts:
                raise CatalogError(f"{path.name}, concept {concept.code}: duplicate code")
            concepts[concept.code] = concept
    plans: dict[str, Plan] = {}
    for path in sorted((catalog_dir / "plans").glob("*.yaml")):
        plan = _plan(path, concepts)
        if plan.code in plans:
            raise CatalogError(f"{path.name}, plan {plan.code}: duplicate plan code")
        plans[plan.code] = plan
    names: dict[str, str] = {}
    for concept in concepts.values():
        for name in (concept.name, *concept.aliases):
            names.setdefault(normalise_name(name), concept.code)
    for plan in plans.values():
        for ind in plan.indicators:
            names.setdefault(normalise_name(ind.name), ind.code)
    return Catalog(plans=plans, concepts=concepts, names=names)


def template_version(concepts: Iterable[Concept]) -> str:
    """Stamp of a workbook: changes only when the rows it asks for, or what they mean, change."""
    digest = hashlib.sha256()
    for c in concepts:
        digest.update(f"{c.code}|{c.unit}|{c.aggregation}|{c.scale}|{c.integer}\n".encode())
    return "T" + digest.hexdigest()[:8]


@cache
def catalog_from(catalog_dir: Path) -> Catalog:
    """The catalog, loaded once per process."""
    return load_catalog(catalog_dir)
