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
from typing import Any, get_args

import yaml

from planstats.catalog_schema import (
    Aggregation,
    Attribute,
    ConceptFile,
    ConceptSpec,
    IndicatorSpec,
    Operator,
    PlanFile,
    PlanSpec,
    RuleSpec,
    Severity,
    problems,
)

AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)
ATTRIBUTES: tuple[str, ...] = get_args(Attribute)
COMPARATORS: tuple[str, ...] = get_args(Operator)
SEVERITIES: tuple[str, ...] = get_args(Severity)


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
    """A concept as one plan states it: the plan's name, unit, target and attribute as printed.

    Values are stored in the concept's unit. ``factor`` converts them to the plan's unit
    (plan value = factor × concept value); a plan whose wording cannot be converted (≥1 个 per
    street of a coverage rate) has no factor and is assessed on the concept's value against
    ``assess``, the target its note explains it is read as.
    """

    concept: Concept
    seq: int
    category: str
    name: str
    unit: str
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
    factor: float | None = 1.0
    assess: tuple[str, float] | None = None  # (comparator, target) in the concept's unit

    @property
    def code(self) -> str:
        return self.concept.code

    @property
    def stat_unit(self) -> str:
        """Unit of this indicator's statistics (value and target compared in it)."""
        return self.concept.unit if self.assess else self.unit

    @property
    def stat_factor(self) -> float:
        """Statistics value = stat_factor × stored (concept-unit) value."""
        return self.factor or 1.0

    @property
    def stat_comparator(self) -> str:
        return self.assess[0] if self.assess else self.comparator

    @property
    def stat_target(self) -> float:
        return self.assess[1] if self.assess else self.target

    def target_label(self, unit: str | None = None) -> str:
        """The target as printed; its unit named when it is not ``unit``; an assess_as reading
        said in the concept's unit (≥1个（即…覆盖率≥100%）)."""
        text = self.target_text
        if unit is not None and self.unit != unit and not text.endswith(self.unit):
            text += self.unit
        if self.assess:
            comparator = {">=": "≥", "<=": "≤", "=": "="}[self.assess[0]]
            text += f"（即{self.concept.name}{comparator}{self.assess[1]:g}{self.concept.unit}）"
        return text


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


@dataclass(frozen=True)
class Entry:
    """What a region enters for one concept, once, whichever plans ask for it.

    The unit is that of the most local plan stating the concept in a convertible unit (a
    factor); a plan that only reads the concept (assess_as) is answered from the same figure,
    and with no convertible plan the concept's own unit is asked. Values are stored in the
    concept's unit: stored = entered ÷ factor.
    """

    concept: Concept
    uses: tuple[tuple[Plan, Indicator], ...]
    unit: str
    factor: float

    def stored(self, entered: float | None) -> float | None:
        return entered if entered is None or self.factor == 1 else entered / self.factor

    def entered(self, stored: float | None) -> float | None:
        return stored if stored is None or self.factor == 1 else stored * self.factor


def entries(plans: list[Plan], region_code: str) -> dict[str, Entry]:
    """Concept code → what the region enters for it (see Entry), most local plan first."""
    out = {}
    for code, uses in required_indicators(plans, region_code).items():
        stated = next((i for _, i in uses if i.factor is not None), None)
        unit, factor = (stated.unit, stated.factor) if stated else (uses[0][1].concept.unit, 1.0)
        out[code] = Entry(uses[0][1].concept, tuple(uses), unit, factor or 1.0)
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


def _checked(model: type[Any], entry: Any, where: str) -> Any:
    spec, found = problems(model, entry)
    if found:
        raise CatalogError(f"{where}: " + "; ".join(found))
    return spec


def _entry_code(entry: Any, key: str = "code") -> str:
    return str(entry.get(key, "?")) if isinstance(entry, dict) else "?"


def _concept(entry: Any, where: str) -> Concept:
    spec: ConceptSpec = _checked(ConceptSpec, entry, f"{where}, concept {_entry_code(entry)}")
    low, high = spec.valid_range or (None, None)
    return Concept(
        code=spec.code, name=spec.name, unit=spec.unit, aggregation=spec.aggregation,
        valid_min=None if low is None else float(low),
        valid_max=None if high is None else float(high),
        aliases=tuple(spec.aliases),
        scale=None if spec.scale is None else float(spec.scale),
        numerator=spec.numerator, denominator=spec.denominator or spec.weight,
        weight=spec.weight, integer=spec.integer, direction=spec.direction,
        yoy_threshold=None if spec.yoy_threshold is None else float(spec.yoy_threshold),
    )


def _codes(value: str | list[str], key: str, where: str, plan_codes: set[str]) -> tuple[str, ...]:
    codes = tuple(value if isinstance(value, list) else [value])
    unknown = [c for c in codes if c not in plan_codes]
    if unknown:
        raise CatalogError(f"{where}: field '{key}' names {', '.join(unknown)}, "
                           "not an indicator of this plan")
    return codes


def _rule(entry: Any, plan_codes: set[str], where: str) -> Rule:
    where = f"{where}, rule {_entry_code(entry, 'id')}"
    spec: RuleSpec = _checked(RuleSpec, entry, where)
    return Rule(id=spec.id, left=_codes(spec.left, "left", where, plan_codes),
                operator=spec.operator, right=_codes(spec.right, "right", where, plan_codes),
                severity=spec.severity, tolerance=float(spec.tolerance), reason=spec.reason,
                source_text=spec.source_text)


def _target(text: str, direction: str, key: str, where: str) -> tuple[str, float]:
    try:
        return parse_target(text, direction)
    except ValueError as exc:
        raise CatalogError(f"{where}: field '{key}' {exc}") from None


def _indicator(entry: Any, concepts: dict[str, Concept], where: str,
               period: tuple[int, int]) -> Indicator:
    where = f"{where}, indicator {_entry_code(entry)}"
    spec: IndicatorSpec = _checked(IndicatorSpec, entry, where)
    concept = concepts.get(spec.code)
    if concept is None:
        raise CatalogError(f"{where}: field 'code' names no concept in concepts/")
    if not period[0] <= spec.target_year <= period[1] + 10:  # a 远景 target may lie beyond
        raise CatalogError(f"{where}: field 'target_year' {spec.target_year} does not fit the "
                           f"plan's period {period[0]}–{period[1]}")
    target_text = str(spec.target)
    comparator, target = _target(target_text, concept.direction, "target", where)
    unit = spec.unit or concept.unit
    conversion = spec.conversion
    if (unit != concept.unit) != (conversion is not None):
        raise CatalogError(
            f"{where}: field 'conversion' " + (
                f"is missing: the plan states {unit!r}, the concept {concept.code} "
                f"{concept.unit!r} (give factor or assess_as)" if conversion is None else
                f"is given but the plan's unit {unit!r} is the concept's"))
    assess: tuple[str, float] | None = None
    if conversion is not None and conversion.assess_as is not None:
        assess = _target(str(conversion.assess_as), concept.direction, "conversion.assess_as",
                         where)
    return Indicator(
        concept=concept, seq=spec.seq, category=spec.category, name=spec.name, unit=unit,
        target_text=target_text, comparator=comparator, target=target,
        attribute=spec.attribute, target_year=spec.target_year, source_text=spec.source_text,
        baseline=None if spec.baseline is None else float(spec.baseline),
        baseline_year=spec.baseline_year, attribute_inferred=spec.attribute_inferred,
        note=spec.note,
        factor=None if assess else float(conversion.factor) if conversion else 1.0,
        assess=assess,
    )


def _plan(path: Path, concepts: dict[str, Concept]) -> Plan:
    doc: PlanFile = _checked(PlanFile, _read_yaml(path), path.name)
    where = f"{path.name}, plan {_entry_code(doc.plan)}"
    head: PlanSpec = _checked(PlanSpec, doc.plan, where)
    period = (head.period_start, head.period_end)
    indicators = [_indicator(e, concepts, where, period) for e in doc.indicators]
    seen: set[str] = set()
    for ind in indicators:
        if ind.code in seen:
            raise CatalogError(f"{where}, indicator {ind.code}: duplicate code in this plan")
        seen.add(ind.code)
    rules = [_rule(e, seen, where) for e in doc.rules]
    if len({r.id for r in rules}) != len(rules):
        raise CatalogError(f"{where}: field 'rules' repeats a rule id")
    return Plan(
        code=head.code, name=head.name, short_name=head.short_name or head.name,
        region_code=head.region_code, period_start=head.period_start,
        period_end=head.period_end, baseline_year=head.baseline_year, deadline=head.deadline,
        source=head.source, source_section=head.source_section,
        indicators=tuple(indicators), rules=tuple(rules),
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
        doc: ConceptFile = _checked(ConceptFile, _read_yaml(path), path.name)
        for entry in doc.concepts:
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


def template_version(asked: Iterable[Entry]) -> str:
    """Stamp of a workbook: changes only when the rows it asks for, or what they mean, change."""
    digest = hashlib.sha256()
    for e in asked:
        c = e.concept
        line = f"{c.code}|{c.unit}|{c.aggregation}|{c.scale}|{c.integer}"
        if e.unit != c.unit or e.factor != 1:  # asked in a plan's unit: a different row
            line += f"|{e.unit}|{e.factor:g}"
        digest.update(f"{line}\n".encode())
    return "T" + digest.hexdigest()[:8]


@cache
def catalog_from(catalog_dir: Path) -> Catalog:
    """The catalog, loaded once per process."""
    return load_catalog(catalog_dir)
