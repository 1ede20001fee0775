"""Reading the number a county meant from whatever it typed into a cell."""

from __future__ import annotations

import math
import re
import unicodedata

_PREFIX = re.compile(r"^(?:≥|≤|>=|<=|>|<|=|约|大约|不低于|不少于|达到)")
_SUFFIX = re.compile(r"(?:%|％|‰|以上|以下|以内|左右|个|人|次|平方米|万人|元|万元)$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
# what most cells hold, read without the normalising below (a third of the reading time)
_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
BLANK_TEXTS = ("", "-", "—", "/", "无")  # what a county types for "no value"


class ValueParseError(ValueError):
    """The cell holds text that is not a number."""


def parse_number(raw: object) -> float | None:
    """Return the number in a cell, or None for an empty cell.

    Accepts numbers, and text such as '95%', '95 %', '９５', '1,000', ' 95 ', '≥95', '−5'. Raises
    ValueParseError, and nothing else, for anything else.
    """
    if raw is None or raw == "":
        return None
    if raw.__class__ is str and _PLAIN.fullmatch(raw):
        value = float(raw)
        if math.isfinite(value):
            return value
        raise ValueParseError(raw)
    if isinstance(raw, bool):
        raise ValueParseError(str(raw))
    if isinstance(raw, int | float):
        try:
            value = float(raw)
        except OverflowError:  # an int beyond float's range; str() of it may itself fail
            raise ValueParseError("number out of range") from None
        if not math.isfinite(value):
            raise ValueParseError(str(raw))
        return value
    text = unicodedata.normalize("NFKC", str(raw)).strip().replace(" ", "").replace("−", "-")
    if text in BLANK_TEXTS:
        return None
    text = _PREFIX.sub("", text)
    for _ in range(2):
        text = _SUFFIX.sub("", text)
    if _GROUPED.match(text):
        text = text.replace(",", "")
    if not _NUMBER.match(text):
        raise ValueParseError(str(raw))
    value = float(text)
    if not math.isfinite(value):
        raise ValueParseError(str(raw))
    return value
