"""Values as the text ``csv.writer`` and ``json`` write of them, a column at a time.

The published CSV and JSON have a line for each of a plan's ≈ 220,000 statistics rows at
community level. Their lines are put together from the texts of their values, made per column
of a batch of rows: through a cache while a column's values repeat (codes, names, targets,
counts), else all at once in C (one ``json`` list, one ``map``). Each text is what the writer
would have written of that value in its line: ``tests/test_publish.py`` holds the files to the
ones ``csv.writer`` and ``json`` write row by row.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from itertools import compress, repeat
from operator import is_not
from typing import Any

_NONE = type(None)
# a column's type for a cache: 1, 1.0 and True are equal keys, written differently
_KINDS = (float, int, bool)
LIMIT = 20_000  # distinct values a column's cache keeps; beyond, its texts are made in C

json_text = json.JSONEncoder(ensure_ascii=False).encode  # one value, as json writes it
_json_str = json.encoder.encode_basestring  # what json_text does with text (in C)


def json_value(value: Any) -> str:
    """json_text(value), without json's encoder for the common scalars."""
    t = type(value)
    if t is str:
        return _json_str(value)
    if t is float and value - value == 0:  # finite: json writes float.__repr__
        return repr(value)
    if t is int:
        return int.__repr__(value)
    return json_text(value)
# a list, its items separated by a newline: no scalar's json has one (json escapes control
# characters in text), so splitting there gives each item's text
_json_items = json.JSONEncoder(ensure_ascii=False, separators=("\n", ": ")).encode


def json_texts(values: Sequence[Any]) -> list[str] | None:
    """Each value as json writes it inside a row's dict; None when one is a container of
    several items (json writes their separator too, here a newline instead of ", ")."""
    if not values:
        return []
    texts = _json_items(list(values))[1:-1].split("\n")
    return texts if len(texts) == len(values) else None


def csv_cells(values: list[Any]) -> str:
    """``values`` as csv.writer writes them in a line, without the line's end. (A sentinel
    cell follows them: a line of one empty cell alone would be written as "".)"""
    out = io.StringIO()
    csv.writer(out).writerow([*values, 0])
    return out.getvalue()[:-4]  # ",0\r\n"


# csv.writer writes a float as its repr, an int as its str and None as nothing: json the same,
# except for these
_CSV_OF_JSON = {"null": "", "NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}


def csv_numbers(values: Sequence[Any]) -> list[str] | None:
    """Each of ``values``, exactly floats, ints or None, as csv.writer writes it."""
    texts = json_texts(values)
    return None if texts is None else list(map(_CSV_OF_JSON.get, texts, texts))


def all_text(values: Sequence[Any]) -> bool:
    try:
        "".join(values)
    except TypeError:
        return False
    return True


def kind(values: Sequence[Any]) -> type | None:
    """str, float, int or bool: the type of all ``values`` (None among them, too); else None."""
    if all_text(values):
        return str
    types = list(map(type, values))
    nones = types.count(_NONE)
    for k in _KINDS:
        if types.count(k) + nones == len(types):
            return k
    return None


def rounded(values: Sequence[Any], digits: int) -> list[Any]:
    """round(value, digits), None staying None, as StatRow.to_dict and the tables round."""
    present = list(compress(values, map(is_not, values, repeat(None))))
    try:
        if all(map(float.is_integer, present)):  # a whole float is its own rounding
            return list(values)
    except TypeError:  # not a float
        pass
    if len(present) == len(values):
        return list(map(round, values, repeat(digits)))
    # None → 0.0 to be rounded, then None again; dict.get keeps in C what is not None
    rounded = map(round, map(_ZERO_FOR_NONE.get, values, values), repeat(digits))
    return list(map(_NONE_FOR_NONE.get, values, rounded))


_ZERO_FOR_NONE, _NONE_FOR_NONE = {None: 0.0}, {None: None}


class _Cache(dict):
    """value → text, each made once, looked up in C; for values of one ``kind``. A float
    equal to 0 is never kept: 0.0 and -0.0 are equal keys, written differently."""

    def __init__(self, encode: Callable[[Any], str], kind: type) -> None:
        super().__init__()
        self.encode, self.floats = encode, kind is float

    def __missing__(self, key: Any) -> str:
        text = self.encode(key)
        if not (self.floats and key == 0):
            self[key] = text
        return text


class Column:
    """How one field's values become text in a file, batch after batch.

    ``encode``: one value's text. ``direct``: a batch's texts made at once (in C), or None
    when they cannot be. ``kinds``: the kinds of column (``kind``) cached; ``only`` those
    (texts() is None for others) or any. ``limit``: distinct values cached before a column
    counts as one whose values do not repeat, as it does when most of a batch's are new
    (``direct`` from then on); math.inf: always cached.
    """

    def __init__(self, encode: Callable[[Any], str],
                 direct: Callable[[Sequence[Any]], list[str] | None],
                 kinds: tuple[type, ...] = (str, *_KINDS), only: bool = False,
                 limit: float = LIMIT) -> None:
        self.encode, self.direct, self.kinds, self.only = encode, direct, kinds, only
        self.limit = limit
        self.caches: dict[type, _Cache] = {}
        self.full = False  # its values hardly repeat: no more caching

    def texts(self, values: Sequence[Any]) -> list[str] | None:
        k = kind(values) if self.only or not self.full else None
        if self.only and k not in self.kinds:
            return None
        if not self.full and k in self.kinds:
            cache = self.caches.get(k)
            if cache is None:
                cache = self.caches[k] = _Cache(self.encode, k)
            before = len(cache)
            out = list(map(cache.__getitem__, values))
            # full, or most values new (a column of measurements): ``direct`` from now on
            self.full = len(cache) > (self.limit if self.limit == math.inf
                                      else min(self.limit, before + len(values) // 2))
            return out
        return self.direct(values)


def exactly(values: Sequence[Any], t: type) -> bool:
    """Whether every value is of type ``t`` itself."""
    return list(map(type, values)).count(t) == len(values)


def json_column(digits: int | None) -> Column:
    """A field of StatRow.to_dict, rounded to ``digits`` when given, as json writes it."""
    if digits is None:
        return Column(json_value, json_texts)
    return Column(lambda v: "null" if v is None else json_value(round(v, digits)),
                  lambda values: json_texts(rounded(values, digits)))


def csv_number_column() -> Column:
    """年度值, 完成率, 序时进度值 rounded to 4 digits, exactly floats or ints (None: no value);
    texts() is None for others."""
    return Column(lambda v: csv_numbers([None if v is None else round(v, 4)])[0],
                  lambda values: csv_numbers(rounded(values, 4)), kinds=(float, int), only=True)
