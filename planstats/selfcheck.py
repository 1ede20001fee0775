"""The template's 自查 column: the server's value rules as ordinary spreadsheet formulas.

Each check is translated from an expectation the server runs (``planstats.expectations``), with
that expectation's own parameters, and its text is made by the server's own message function
with the typed values left as formula pieces: rules, parameters and wording cannot drift. An
expectation this module has no translation for stops the template build.

The server reports one issue per rule and cell, skips a warning on a cell that already has an
error, and gives one history warning per cell (``validate._attach``); the checks below are
combined the same way. What the workbook cannot know is fixed when it is generated: last year's
value and the range of the county's past years. No macros: LibreOffice, Excel and WPS compute
the formulas as the county types, and nothing the server reads depends on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from planstats.catalog import Catalog, Concept, Plan
from planstats.expectations import rule_expectation, value_expectations
from planstats.issues import ERROR, WARNING
from planstats.validate import (
    COLUMN_NAMES,
    HISTORY_RULES,
    HistoryStats,
    _message,
    _num,
    history_stats,
)
from planstats.values import BLANK_TEXTS

# Where the county types, by the server's column name (the template's header).
VALUE, NUMERATOR, DENOMINATOR, NOTE, PREVIOUS = "本年值", "分子", "分母", "说明", "上年值"
READ_RULE = "numeric"  # reading a cell that is not a number: the server's intake rule
MISSING_RULE = "missing_value"
SHOWN_LIMIT = 60  # characters of a wrong cell quoted back, as the server's reports do
_TOKEN = "\x00"
SAMPLE_FACT = "+123.4"  # stands for a typed fact (or a short note) when sizing a row
FACTS = ("prev", "change", "low", "high", "years", "left_value", "right_value")


class SelfCheckError(ValueError):
    """A server rule that has no formula here: add its translation before shipping templates."""


@dataclass(frozen=True)
class Check:
    """One rule on one row: when it fires, and what the county reads."""

    rule: str
    key: str  # the rule and column the server reports once per cell
    severity: str
    column: str  # the header of the cell the issue points at
    condition: str  # a formula yielding TRUE/FALSE, before the server's suppressions
    text: str  # a formula yielding the message, with the fix or the note
    order: tuple[int, int] = (0, 0)
    sample: str = ""  # the message (with the fix) and typical facts: sizes the row


@dataclass(frozen=True)
class RowCells:
    """A template row as the formulas see it: its concept and the letters of its cells."""

    row: int
    concept: Concept
    letters: Mapping[str, str]
    history: HistoryStats = field(default_factory=HistoryStats)
    factor: float = 1.0  # entered = stored × factor, when the template asks in another unit

    def ref(self, column: str) -> str:
        return f"{self.letters[column]}{self.row}"

    @property
    def value(self) -> str:
        """本年值 in the concept's unit, as the server checks it."""
        ref = self.ref(VALUE)
        return ref if self.factor == 1 else f"({ref}/{_number(self.factor)})"


def quote(text: str) -> str:
    """A formula string literal."""
    return '"' + text.replace('"', '""') + '"'


def _number(value: float) -> str:
    return repr(float(value))


def isnumber(ref: str) -> str:
    return f"ISNUMBER({ref})"


def blank(ref: str) -> str:
    """What the server reads as no value: an empty cell or a placeholder such as “-”, “无”."""
    return "OR(" + ",".join([f"LEN(TRIM({ref}))=0",
                             *(f"TRIM({ref})={quote(t)}" for t in BLANK_TEXTS if t)]) + ")"


def unreadable(ref: str) -> str:
    """Text where a number belongs: the server rejects the cell and checks nothing else on it."""
    return f"AND(NOT({isnumber(ref)}),NOT({blank(ref)}))"


def number_text(expr: str) -> str:
    """``validate._num`` as a formula: two decimals from 1 up, three significant digits below."""
    return (f"IF(ABS({expr})>=1,ROUND({expr},2)&\"\",IF({expr}=0,\"0\","
            f"ROUND({expr},2-INT(LOG10(ABS({expr}))))&\"\"))")


def shown(ref: str) -> str:
    """The wrong cell as the server quotes it back."""
    text = f"TRIM({ref})"
    return (f"IF(LEN({text})<={SHOWN_LIMIT},{text},LEFT({text},{SHOWN_LIMIT})&\"…（共 \""
            f"&LEN({text})&\" 个字符）\")")


def _text(template: str, pieces: Mapping[str, str]) -> str:
    """A message with ``\\0name\\0`` tokens as a formula: literals quoted, tokens as pieces."""
    parts = template.split(_TOKEN)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(pieces[part])
        elif part:
            out.append(quote(part))
    return "&".join(out) or '""'


def _message_formula(meta: dict[str, Any], concept: Concept, facts: Mapping[str, str],
                     pieces: Mapping[str, str], note: str | None) -> tuple[str, str]:
    """The server's message for ``meta`` with the typed facts (and the note) as formula pieces,
    and the message with typical facts in their place."""
    tokens = {k: facts.get(k, f"{_TOKEN}{k}{_TOKEN}") for k in FACTS}
    text = _message(meta, concept, tokens, f"{_TOKEN}note{_TOKEN}" if note else "")
    sample = re.sub(f"{_TOKEN}[a-z_]+{_TOKEN}", SAMPLE_FACT, text)
    return _text(text, {**pieces, "note": note or '""'}), sample


def _between(expr: str, kwargs: dict[str, Any]) -> str:
    """Outside GX's between: bounds inclusive unless strict, a missing bound open."""
    outside = []
    if kwargs.get("min_value") is not None:
        op = "<=" if kwargs.get("strict_min") else "<"
        outside.append(f"{expr}{op}{_number(kwargs['min_value'])}")
    if kwargs.get("max_value") is not None:
        op = ">=" if kwargs.get("strict_max") else ">"
        outside.append(f"{expr}{op}{_number(kwargs['max_value'])}")
    if not outside:
        raise SelfCheckError(f"between without bounds: {kwargs}")
    return outside[0] if len(outside) == 1 else "OR(" + ",".join(outside) + ")"


def _columns(cells: RowCells) -> dict[str, tuple[str, str]]:
    """Each column the suites check: (formula for its value, formula for 'it has a value')."""
    c = cells.concept
    e, f, g, j = (cells.ref(x) for x in (VALUE, NUMERATOR, DENOMINATOR, PREVIOUS))
    v = cells.value
    out = {
        "value": (v, isnumber(e)),
        "value_frac": (f"ABS({v}-ROUND({v},0))", isnumber(e)),
        "numerator": (f, isnumber(f)),
        "denominator": (g, isnumber(g)),
        # 上年值 is shown in the unit the county enters: the ratio is the same in either unit
        "yoy_change": (f"({e}-{j})/ABS({j})*100", f"AND({isnumber(e)},{isnumber(j)},{j}<>0)"),
    }
    if c.scale is not None:
        out["ratio_gap"] = (f"ABS({v}-{_number(c.scale)}*{f}/{g})",
                            f"AND({isnumber(e)},{isnumber(f)},{isnumber(g)},{g}>0)")
    h = cells.history
    if h.low is not None and h.high is not None:
        from planstats.expectations import HISTORY_SIGMA

        mean, sd = (h.low + h.high) / 2, (h.high - h.low) / (2 * HISTORY_SIGMA)
        out["history_z"] = (f"({v}-{_number(mean)})/{_number(sd)}", isnumber(e))
    return out


def _condition(exp: dict[str, Any], columns: dict[str, tuple[str, str]],
               has_value: str) -> str | None:
    """When the expectation fails on this row; None when it cannot apply here."""
    kind, kwargs = exp["type"], exp["kwargs"]
    extra = [has_value] if "has_value==1" in kwargs.get("row_condition", "") else []
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        if kwargs.get("ignore_row_if") != "either_value_is_missing":
            raise SelfCheckError(f"no formula for {kind} with {kwargs}")
        (a, has_a), (b, has_b) = columns[kwargs["column_A"]], columns[kwargs["column_B"]]
        op = "<" if kwargs.get("or_equal") else "<="
        return f"IF(AND({has_a},{has_b}),{a}{op}{b},FALSE)"
    column = kwargs.get("column")
    if column not in columns:
        if column == "history_z":
            return None  # too few past years when the workbook was made: the server skips too
        raise SelfCheckError(f"no formula for column {column!r} of {kind}")
    expr, present = columns[column]
    if kind == "expect_column_values_to_not_be_null":
        return "AND(" + ",".join([*extra, f"NOT({present})"]) + ")"
    if kind == "expect_column_values_to_be_between":  # IF: no division by an empty cell
        return f"IF(AND({','.join([*extra, present])}),{_between(expr, kwargs)},FALSE)"
    raise SelfCheckError(f"no formula for expectation type {kind}")


def _order(severity: str, rule: str) -> tuple[int, int]:
    """The order in which the server attaches failures: errors first, history warnings last."""
    later = {"yoy_change": 1, "history_outlier": 2}
    return (0 if severity == "error" else 1, later.get(rule, 1))


def _check(exp: dict[str, Any], condition: str, cells: RowCells, facts: Mapping[str, str],
           pieces: Mapping[str, str]) -> Check:
    meta = exp["meta"]
    severity = ERROR if meta["severity"] == "error" else WARNING
    column = COLUMN_NAMES[meta["column"]]
    fixed, sample = _message_formula(meta, cells.concept, facts, pieces, None)
    if severity == WARNING:  # a warning answered in 说明 reads so, as in the server's report
        note = cells.ref(NOTE)
        explained, _ = _message_formula(meta, cells.concept, facts, pieces, note)
        fixed = f"IF(LEN(TRIM({note}))>0,{explained},{fixed})"
    return Check(meta["rule"], f"{meta.get('rule_id') or meta['rule']}/{meta['column']}",
                 severity, column, condition, fixed, _order(meta["severity"], meta["rule"]),
                 sample)


def history_of(past: Mapping[int, float], year: int, concept: Concept) -> HistoryStats:
    """Last year's value and the range of the county's past years, as the server will see them
    (the range does not depend on the value checked, so any value will do)."""
    return history_stats(0.0, past, year, concept)


def read_checks(cells: RowCells) -> list[Check]:
    """Text in a number cell: the server's reading error, before any rule runs."""
    out = []
    for column in (VALUE, NUMERATOR, DENOMINATOR):
        ref = cells.ref(column)
        text = f'"“{column}”应填写数字，实际为“"&{shown(ref)}&"”。"'
        out.append(Check(READ_RULE, f"{READ_RULE}/{column}", ERROR, column, unreadable(ref),
                         text, (-1, 0), f"“{column}”应填写数字，实际为“{SAMPLE_FACT}”。"))
    return out


def value_checks(cells: RowCells) -> list[Check]:
    """The concept's value and history rules, as the plan suites hold them."""
    columns = _columns(cells)
    h = cells.history
    facts = {"prev": _num(h.prev), "low": _num(h.low), "high": _num(h.high), "years": h.years}
    pieces = {"change": f'TEXT({columns["yoy_change"][0]},"+0.0;-0.0")'}
    out = []
    for exp in value_expectations([cells.concept]):
        condition = _condition(exp, columns, isnumber(cells.ref(VALUE)))
        if condition is not None:
            out.append(_check(exp, condition, cells, facts, pieces))
    return out


def rule_checks(plans: list[Plan], catalog: Catalog,
                rows: Mapping[str, RowCells]) -> dict[str, list[Check]]:
    """The plans' consistency rules on the row of each rule's first left-hand indicator.

    A rule naming an indicator the workbook does not ask for is skipped, as the server skips a
    rule with a side not reported.
    """
    out: dict[str, list[Check]] = {}
    for plan in plans:
        for rule in plan.rules:
            if not all(code in rows for code in (*rule.left, *rule.right)):
                continue
            codes = (*rule.left, *rule.right)
            values = {code: rows[code].value for code in codes}
            left = "(" + "+".join(values[c] for c in rule.left) + ")"
            right = "(" + "+".join(values[c] for c in rule.right) + ")"
            gap = {"<=": f"{left}-{right}", ">=": f"{right}-{left}",
                   "=": f"ABS({left}-{right})"}[rule.operator]
            present = ",".join(isnumber(rows[c].ref(VALUE)) for c in codes)
            exp = rule_expectation(plan, rule, catalog)
            columns = {"consistency_gap": (gap, f"AND({present})")}
            cells = rows[rule.left[0]]
            pieces = {"left_value": number_text(left), "right_value": number_text(right)}
            condition = _condition(exp, columns, "TRUE")
            out.setdefault(rule.left[0], []).append(
                _check(exp, condition or "FALSE", cells, {}, pieces))
    return out


@dataclass(frozen=True)
class RowFormulas:
    """The formulas of one row: a flag per check, its 自查 text and its counts."""

    checks: list[Check]
    flags: list[str]  # formula per check: TRUE when the server reports it
    text: str  # every message that applies, one a line
    errors: str
    warnings: str  # warnings not answered in 说明, other than 缺报
    missing: str  # 缺报 not answered in 说明


def combine(cells: RowCells, checks: list[Check], flag_refs: list[str]) -> RowFormulas:
    """Suppress as the server does; ``flag_refs`` are the cells that will hold each flag.

    A cell that cannot be read gets nothing else; a rule reports once per cell; a cell with an
    error gets no warning; of the two history warnings the first only.
    """
    ordered = sorted(checks, key=lambda c: c.order)
    refs = dict(zip((id(c) for c in ordered), flag_refs, strict=True))
    flags, seen = [], {}
    errors_on: dict[str, list[str]] = {}
    history_on: dict[str, list[str]] = {}
    for check in ordered:
        ref = refs[id(check)]
        parts = [check.condition]
        if check.rule != READ_RULE:
            parts.append(f"NOT({unreadable(cells.ref(check.column))})")
        parts += [f"NOT({earlier})" for earlier in seen.get(check.key, [])]
        if check.severity == WARNING:
            parts += [f"NOT({earlier})" for earlier in errors_on.get(check.column, [])]
        if check.rule in HISTORY_RULES:
            parts += [f"NOT({earlier})" for earlier in history_on.get(check.column, [])]
            history_on.setdefault(check.column, []).append(ref)
        if check.severity == ERROR:
            errors_on.setdefault(check.column, []).append(ref)
        seen.setdefault(check.key, []).append(ref)
        flags.append(parts[0] if len(parts) == 1 else "AND(" + ",".join(parts) + ")")
    text = "&".join(f'IF({refs[id(c)]},{c.text}&CHAR(10),"")' for c in ordered) or '""'
    unexplained = f"LEN(TRIM({cells.ref(NOTE)}))=0"

    def count(picked: list[Check], warning: bool) -> str:
        total = "+".join(refs[id(c)] for c in picked)
        if not total:
            return "0"
        return f"IF({unexplained},{total},0)" if warning else f"0+{total}"

    warnings = [c for c in ordered if c.severity == WARNING]
    return RowFormulas(ordered, flags, text,
                       count([c for c in ordered if c.severity == ERROR], False),
                       count([c for c in warnings if c.rule != MISSING_RULE], True),
                       count([c for c in warnings if c.rule == MISSING_RULE], True))


def summary_formula(errors: str, warnings: str, missing: str) -> str:
    """The line above the table: how many places still need fixing, explaining or filling."""
    e, w, m = f"SUM({errors})", f"SUM({warnings})", f"SUM({missing})"
    parts = [f'IF({e}>0,"还有 "&{e}&" 处需要修改；","")',
             f'IF({w}>0,{w}&" 处需核对（无误的请在“说明”列写明原因）；","")',
             f'IF({m}>0,{m}&" 项未填写；","")']
    listed = "&".join(parts)
    return (f'=IF({e}+{w}+{m}=0,"自查：未发现需要修改的地方。",'
            f'"自查："&LEFT({listed},LEN({listed})-1)&"。")')


def rule_ids(catalog: Catalog) -> set[str]:
    """Every rule the value and consistency suites check: what the 自查 formulas must cover."""
    rules = {e["meta"]["rule"] for e in value_expectations(list(catalog.concepts.values()))}
    for plan in catalog.plans.values():
        rules |= {rule_expectation(plan, r, catalog)["meta"]["rule"] for r in plan.rules}
    return rules
