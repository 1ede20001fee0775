"""Traditional → simplified conversion, for matching names such as 眉山's 覆蓋率."""

from __future__ import annotations

from functools import cache


@cache
def _converter():
    from opencc import OpenCC

    return OpenCC("t2s")


@cache
def to_simplified(text: str) -> str:
    return _converter().convert(text)
