"""Typed schema of the catalog files (include/catalog): what a reviewed YAML entry may contain.

Each entry is validated on its own (one concept, one plan head, one indicator, one rule), so a
refusal names the file, the plan, the indicator or rule and the field. Checks that need other
entries (a concept code that exists, rule codes of the same plan) stay in ``planstats.catalog``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Aggregation = Literal["sum", "ratio", "weighted_mean", "min", "max", "count_meeting", "owner_only"]
Attribute = Literal["约束性", "预期性"]
Operator = Literal[">=", "<=", "="]
Severity = Literal["error", "warning"]
Year = Annotated[int, Field(ge=1949, le=2100)]
Number = int | float
Text = Annotated[str, Field(min_length=1)]
Codes = Text | list[Text]


class _Entry(BaseModel):
    # strict: '2021' is not a year and 'true' is not a boolean; unknown keys are typos
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ConceptSpec(_Entry):
    code: Annotated[str, Field(pattern=r"^ZB\d{4}$")]
    name: Text
    aliases: list[Text] = []
    unit: Text
    aggregation: Aggregation
    scale: Annotated[Number, Field(gt=0)] | None = None
    numerator: Text | None = None
    denominator: Text | None = None
    weight: Text | None = None
    valid_range: Annotated[list[Number | None], Field(min_length=2, max_length=2)] | None = None
    integer: bool = False
    direction: Literal["higher", "lower"] = "higher"
    yoy_threshold: Annotated[Number, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _parts(self) -> ConceptSpec:
        if self.aggregation == "ratio":
            for key in ("numerator", "denominator", "scale"):
                if getattr(self, key) is None:
                    raise _missing(key, "a ratio needs 分子/分母 definitions and a scale")
        if self.aggregation == "weighted_mean" and self.weight is None:
            raise _missing("weight", "a weighted mean names its weight")
        low, high = self.valid_range or (None, None)
        if low is not None and high is not None and low > high:
            raise _field("valid_range", f"[{low}, {high}] is empty (min > max)")
        return self


def _month_day(text: str) -> str:
    try:
        dt.date(2024, *(int(p) for p in text.split("-")))  # a leap year: 02-29 is a date
    except (TypeError, ValueError):
        raise ValueError(f"{text!r} is not a month-day such as 01-31") from None
    if len(text) != 5:
        raise ValueError(f"{text!r} is not written MM-DD such as 01-31")
    return text


class PlanSpec(_Entry):
    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    name: Text
    short_name: Text | None = None
    region_code: Annotated[str, Field(pattern=r"^\d{6}$")]
    period_start: Year
    period_end: Year
    baseline_year: Year | None = None
    deadline: str = "01-31"
    source: str = ""
    source_section: str = ""

    @model_validator(mode="after")
    def _dates(self) -> PlanSpec:
        try:
            _month_day(self.deadline)
        except ValueError as exc:
            raise _field("deadline", str(exc)) from None
        if self.period_start > self.period_end:
            raise _field("period_end", f"{self.period_end} is before period_start "
                                       f"{self.period_start}")
        if self.baseline_year is not None and self.baseline_year > self.period_start:
            raise _field("baseline_year", f"{self.baseline_year} is after period_start "
                                          f"{self.period_start}")
        return self


class ConversionSpec(_Entry):
    """How the plan's statement relates to the concept's unit: exactly one of the two."""

    factor: Annotated[Number, Field(gt=0)] | None = None  # plan value = factor × concept value
    assess_as: Text | Number | None = None  # the target, in the concept's unit, it is read as

    @model_validator(mode="after")
    def _one(self) -> ConversionSpec:
        if (self.factor is None) == (self.assess_as is None):
            raise _field("factor", "give either factor or assess_as")
        return self


class IndicatorSpec(_Entry):
    code: Annotated[str, Field(pattern=r"^ZB\d{4}$")]
    seq: Annotated[int, Field(ge=1)]
    category: Text
    name: Text
    unit: Text | None = None  # the plan's own unit; the concept's when the plan states none
    conversion: ConversionSpec | None = None
    target: Text | Number
    attribute: Attribute
    attribute_inferred: bool = False
    target_year: Year
    baseline: Number | None = None
    baseline_year: Year | None = None
    note: Text | None = None
    source_text: Text

    @model_validator(mode="after")
    def _years(self) -> IndicatorSpec:
        if (self.baseline is None) != (self.baseline_year is None) and self.baseline is not None:
            raise _missing("baseline_year", "a baseline says which year it is from")
        if self.baseline_year is not None and self.baseline_year >= self.target_year:
            raise _field("baseline_year", f"{self.baseline_year} is not before target_year "
                                          f"{self.target_year}")
        if self.conversion is not None and self.conversion.assess_as is not None:
            if self.baseline is not None:
                raise _field("baseline", "a baseline in the plan's unit cannot be read "
                                         "through assess_as")
            if not self.note:
                raise _missing("note", "an assess_as interpretation is explained in the note")
        return self


class RuleSpec(_Entry):
    id: Text
    left: Codes
    operator: Operator
    right: Codes
    severity: Severity = "error"
    tolerance: Annotated[Number, Field(ge=0)] = 0
    reason: str = ""
    source_text: str = ""


class ConceptFile(_Entry):
    concepts: list[dict[str, Any]]


class PlanFile(_Entry):
    plan: dict[str, Any]
    indicators: Annotated[list[dict[str, Any]], Field(min_length=1)]
    rules: list[dict[str, Any]] = []


class _FieldError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _field(key: str, message: str) -> _FieldError:
    return _FieldError(key, message)


def _missing(key: str, why: str) -> _FieldError:
    return _FieldError(key, f"is missing ({why})")


def problems(model: type[_Entry], entry: Any) -> tuple[Any, list[str]]:
    """Validate one entry: the model, or None and the problems, each naming its field."""
    if not isinstance(entry, dict):
        return None, [f"expected a mapping of fields, not {type(entry).__name__}"]
    try:
        return model.model_validate(entry), []
    except ValidationError as exc:
        found: dict[str, str] = {}  # a union reports each branch it tried: keep the first
        for err in exc.errors():
            key, text = _describe(err, entry)
            found.setdefault(key, text)
        return None, list(found.values())


_BRANCHES = re.compile(r"^(str|int|float|bool|none|constrained-str|list\[.*\]|function-.*)$")


def _describe(err: Any, entry: dict[str, Any]) -> tuple[str, str]:
    # a union's error carries the branch it tried (…, 'str', 'int'): name the field only
    loc = [str(p) for p in err["loc"] if not _BRANCHES.match(str(p))]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, _FieldError):  # from a model's own check, on one of its fields
        key = ".".join([*loc, cause.key])
        return key, f"field '{key}' {cause}"
    key = ".".join(loc) or "?"
    kind = err["type"]
    if kind == "extra_forbidden":
        return key, f"field '{key}' is not a known field (a typo? see include/catalog/README.md)"
    if kind == "missing":
        return key, f"field '{key}' is missing"
    given: Any = entry
    for part in err["loc"]:
        given = given.get(part) if isinstance(given, dict) else (
            given[part] if isinstance(given, list) and isinstance(part, int)
            and part < len(given) else given)
    return key, f"field '{key}' {err['msg'][0].lower()}{err['msg'][1:]}, not {given!r}"
