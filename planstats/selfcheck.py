"""The template's 自查 column: the server's value rules as ordinary spreadsheet formulas.

The server's suites (``planstats.expectations``) are a few wide expectations over a frame with
one row per value, each row carrying its indicator's parameters as columns
(``validate.add_rule_columns``, parameters from ``expectations.indicator_rules``). Here each
expectation is translated once per template row: every column of that frame becomes a formula
on the row's cells (``value_terms``, ``rule_terms``) and the expectation's own test is applied
to them, so rules and parameters cannot drift; the text is made by the server's own message
function with the typed figures left as formula pieces. An expectation type, keyword or column
this module has no translation for stops the template build.

The county types 本年值 in the unit the template asks (``Entry.unit``); the server divides it
by ``Entry.factor`` before checking (``Entry.stored``), and so do the formulas, so every bound
and threshold stays the server's own; what the messages quote is in the unit typed, as the
server's are (``validate._value_facts``), and a rate's tolerance is half a unit of it.

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

from planstats.catalog import Catalog, Concept, Entry, Plan, Rule
from planstats.expectations import (
    all_checks,
    consistency_checks,
    indicator_rules,
    rule_id,
    rule_text,
    value_expectations,
)
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
VALUE, NUMERATOR, DENOMINATOR, NOTE = "本年值", "分子", "分母", "说明"
READ_RULE = "numeric"  # reading a cell that is not a number: the server's intake rule
MISSING_RULE = "missing_value"
# Rules on the 指标代码 column (unknown or repeated codes): the template writes each code of the
# catalog once and locks the cell, so a workbook made from it cannot break them.
LOCKED_COLUMN = "indicator_code"
PAIR = "expect_column_pair_values_a_to_be_greater_than_b"
NOT_NULL = "expect_column_values_to_not_be_null"
KNOWN_KWARGS = {PAIR: {"column_A", "column_B", "or_equal", "ignore_row_if"},
                NOT_NULL: {"column"}}
CONDITION = re.compile(r"(\w+) == 1")  # the suites' row conditions: a 0/1 flag column
SHOWN_LIMIT = 60  # characters of a wrong cell quoted back, as the server's reports do
SAMPLE_FIGURE, SAMPLE_TYPED = "+1234.56", "x" * 12  # what a message quotes, for sizing rows
_TOKEN = "\x00"
FACTS = ("value", "prev", "change", "low", "high", "years", "left_value", "right_value")


class SelfCheckError(ValueError):
    """A server rule that has no formula here: add its translation before shipping templates."""


@dataclass(frozen=True)
class Term:
    """One column of a suite's frame on one template row, as formulas."""

    expr: str  # its value (a flag column: TRUE where the flag is 1)
    given: str | None = None  # TRUE where the row has a value; None: it always has one


Terms = Mapping[str, Term | None]  # None: the column is empty on this row whatever is typed


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
    expectation: str = ""  # the description of the expectation it translates
    sample: str = ""  # the text with typical figures in it: how much room the row needs


@dataclass(frozen=True)
class RowCells:
    """A template row as the formulas see it: its concept and the letters of its cells."""

    row: int
    concept: Concept
    letters: Mapping[str, str]
    history: HistoryStats = field(default_factory=HistoryStats)
    entry: Entry | None = None  # the unit the county types in: factor × the concept's unit

    @property
    def factor(self) -> float:
        return self.entry.factor if self.entry else 1.0

    def entered(self, value: float | None) -> float | None:
        """A figure of the concept's unit as the county types it (``Entry.entered``)."""
        return self.entry.entered(value) if self.entry else value

    def ref(self, column: str) -> str:
        return f"{self.letters[column]}{self.row}"

    @property
    def stored(self) -> str:
        """本年值 in the concept's unit, as the server checks it (``Entry.stored``)."""
        typed = self.ref(VALUE)
        return typed if self.factor == 1 else f"({typed}/{_number(self.factor)})"


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


def _all(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "AND(" + ",".join(parts) + ")"


def _const(value: float | None) -> Term | None:
    """A parameter column: the same on every row of the indicator, or empty."""
    return None if value is None else Term(_number(value))


def value_terms(cells: RowCells) -> dict[str, Term | None]:
    """The values-suite frame's columns on this row (``validate.frames`` and
    ``validate.add_rule_columns``), with the parameters ``indicator_rules`` gives the server."""
    p, h = indicator_rules(cells.concept), cells.history
    s, f, g = cells.stored, cells.ref(NUMERATOR), cells.ref(DENOMINATOR)
    has_value, has_f, has_g = (isnumber(cells.ref(x)) for x in (VALUE, NUMERATOR, DENOMINATOR))
    ratio = p.ratio_scale is not None
    terms: dict[str, Term | None] = {
        "value": Term(s, has_value),
        "required": Term("TRUE"),  # every row of the template is asked by one of its plans
        "has_value": Term(has_value),
        "value_min": _const(p.value_min),
        "value_max": _const(p.value_max),
        "value_frac": Term(f"ABS({s}-ROUND({s},0))", has_value),
        "frac_max": _const(0.0 if p.integer else None),
        "numerator": Term(f, has_f),
        "denominator": Term(g, has_g),
        "needs_parts": Term(has_value) if ratio else None,
        "denominator_floor": _const(0.0 if ratio else None),
        "numerator_max": Term(g, has_g) if p.numerator_within_denominator else None,
        # half a unit of what the county types, as the server has it (validate.frames)
        "ratio_tolerance": _const(None if p.ratio_tolerance is None
                                  else p.ratio_tolerance / cells.factor),
        "ratio_gap": Term(f"ABS({s}-{_number(p.ratio_scale)}*{f}/{g})",
                          f"AND({has_value},{has_f},{has_g},{g}>0)") if ratio else None,
        "needs_weight": Term(has_value) if p.needs_weight else None,
        "yoy_limit": _const(p.yoy_limit),
        "yoy_change_abs": Term(f"ABS({yoy_change(cells)})", has_value) if h.prev else None,
        "history_sigma": _const(p.history_sigma),
        "history_z_abs": None,
    }
    if h.low is not None and h.high is not None:  # mean ± sigma·sd, as history_stats made it
        mean, sd = (h.low + h.high) / 2, (h.high - h.low) / (2 * p.history_sigma)
        terms["history_z_abs"] = Term(f"ABS(({s}-{_number(mean)})/{_number(sd)})", has_value)
    return terms


def yoy_change(cells: RowCells) -> str:
    """Percent change on last year (``history_stats``): only where last year is known, not 0."""
    prev = _number(cells.history.prev or 0.0)
    return f"({cells.stored}-{prev})/ABS({prev})*100"


def _term(terms: Terms, name: str) -> Term | None:
    if name not in terms:
        raise SelfCheckError(f"no formula for the suite column {name!r}")
    return terms[name]


def failure(exp: dict[str, Any], terms: Terms) -> str | None:
    """A formula TRUE where ``exp`` fails on this row; None when it cannot fail here (a side
    or its row condition's flag is empty on this row whatever is typed)."""
    kind, kwargs = exp["type"], dict(exp["kwargs"])
    condition = kwargs.pop("row_condition", None)
    kwargs.pop("condition_parser", None)
    if kind not in KNOWN_KWARGS or not set(kwargs) <= KNOWN_KWARGS[kind]:
        raise SelfCheckError(f"no formula for {kind} with {sorted(kwargs)}")
    guards = []
    if condition is not None:
        match = CONDITION.fullmatch(condition)
        if match is None:
            raise SelfCheckError(f"no formula for the row condition {condition!r}")
        flag = _term(terms, match[1])
        if flag is None:
            return None
        guards.append(flag.expr)
    if kind == NOT_NULL:
        term = _term(terms, kwargs["column"])
        if term is not None and term.given is None:
            return None  # a column that always has a value is never null
        return _all([*guards, "TRUE" if term is None else f"NOT({term.given})"])
    if kwargs.get("ignore_row_if") != "either_value_is_missing":
        raise SelfCheckError(f"no formula for {kind} with ignore_row_if "
                             f"{kwargs.get('ignore_row_if')!r}")
    a, b = _term(terms, kwargs["column_A"]), _term(terms, kwargs["column_B"])
    if a is None or b is None:
        return None  # GX skips a row with an empty side
    fails = f"{a.expr}{'<' if kwargs.get('or_equal') else '<='}{b.expr}"
    guards += [t.given for t in (a, b) if t.given is not None]
    return f"IF({_all(guards)},{fails},FALSE)" if guards else fails  # IF: no text in arithmetic


def _order(severity: str, rule: str) -> tuple[int, int]:
    """The order in which the server attaches failures: errors first, history warnings last."""
    later = {"yoy_change": 1, "history_outlier": 2}
    return (0 if severity == "error" else 1, later.get(rule, 1))


def _check(exp: dict[str, Any], condition: str, cells: RowCells, wording: tuple[str, str],
           facts: Mapping[str, str], pieces: Mapping[str, str], key: str) -> Check:
    meta = exp["meta"]
    severity = ERROR if meta["severity"] == "error" else WARNING
    fixed = _message_formula(wording, cells, facts, pieces, None)
    if severity == WARNING:  # a warning answered in 说明 reads so, as in the server's report
        note = cells.ref(NOTE)
        explained = _message_formula(wording, cells, facts, pieces, f"TRIM({note})")
        fixed = f"IF(LEN(TRIM({note}))>0,{explained},{fixed})"
    sample = _message(*wording, cells.concept,
                      {k: facts.get(k, SAMPLE_FIGURE) for k in FACTS}, entry=cells.entry)
    return Check(meta["rule"], f"{key}/{meta['column']}", severity, COLUMN_NAMES[meta["column"]],
                 condition, fixed, _order(meta["severity"], meta["rule"]),
                 exp.get("description", ""), sample)


def _message_formula(wording: tuple[str, str], cells: RowCells, facts: Mapping[str, str],
                     pieces: Mapping[str, str], note: str | None) -> str:
    """The server's message, in the unit the county types, with the typed facts (and the
    note) as formula pieces."""
    tokens = {k: facts.get(k, f"{_TOKEN}{k}{_TOKEN}") for k in FACTS}
    text = _message(*wording, cells.concept, tokens, f"{_TOKEN}note{_TOKEN}" if note else "",
                    cells.entry)
    return _text(text, {**pieces, "note": note or '""'})


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
                         text, (-1, 0), sample=f"“{column}”应填写数字，实际为“{SAMPLE_TYPED}”。"))
    return out


def value_checks(cells: RowCells) -> list[Check]:
    """The values suite on this row: one check per expectation that can fail here."""
    terms = value_terms(cells)
    h = cells.history
    facts = {"prev": _num(cells.entered(h.prev)), "low": _num(cells.entered(h.low)),
             "high": _num(cells.entered(h.high)), "years": h.years}
    # the typed value, quoted as the server quotes it (validate._value_facts)
    pieces = {"change": f'TEXT({yoy_change(cells)},"+0.0;-0.0")',
              "value": f'"为"&{number_text(cells.ref(VALUE))}&"，"'}
    out = []
    for exp in value_expectations():
        meta = exp["meta"]
        if meta["column"] == LOCKED_COLUMN:
            continue
        condition = failure(exp, terms)
        if condition is not None:
            out.append(_check(exp, condition, cells, (meta["message"], meta["fix"]), facts,
                              pieces, meta["rule"]))
    return out


def rule_terms(rule: Rule, rows: Mapping[str, RowCells]) -> dict[str, Term | None]:
    """The consistency-suite frame's columns for one rule (``validate.consistency_frame``)."""
    left = "(" + "+".join(rows[c].stored for c in rule.left) + ")"
    right = "(" + "+".join(rows[c].stored for c in rule.right) + ")"
    gap = {"<=": f"{left}-{right}", ">=": f"{right}-{left}",
           "=": f"ABS({left}-{right})"}[rule.operator]
    given = _all([isnumber(rows[c].ref(VALUE)) for c in (*rule.left, *rule.right)])
    return {"consistency_gap": Term(gap, given),
            **{f"{s}_tolerance": _const(rule.tolerance if rule.severity == s else None)
               for s in (ERROR, WARNING)}}


def rule_checks(plans: list[Plan], catalog: Catalog,
                rows: Mapping[str, RowCells]) -> dict[str, list[Check]]:
    """The plans' consistency rules on the row of each rule's first left-hand indicator.

    A rule naming an indicator the workbook does not ask for is skipped, as the server skips a
    rule with a side not reported.
    """
    expectations = consistency_checks()
    out: dict[str, list[Check]] = {}
    for plan in plans:
        for rule in plan.rules:
            if not all(code in rows for code in (*rule.left, *rule.right)):
                continue
            terms = rule_terms(rule, rows)
            left = "+".join(rows[c].stored for c in rule.left)
            right = "+".join(rows[c].stored for c in rule.right)
            pieces = {"left_value": number_text(f"({left})"),
                      "right_value": number_text(f"({right})")}
            for exp in expectations:
                condition = failure(exp, terms)
                if condition is not None:
                    out.setdefault(rule.left[0], []).append(_check(
                        exp, condition, rows[rule.left[0]], rule_text(plan, rule, catalog), {},
                        pieces, rule_id(plan, rule)))
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
    """Every rule the server's suites check on cells the county types: what the 自查 formulas
    must cover."""
    return {e["meta"]["rule"] for e in all_checks() if e["meta"]["column"] != LOCKED_COLUMN}
