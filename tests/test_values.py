import pytest
from hypothesis import given
from hypothesis import strategies as st

from planstats.values import ValueParseError, parse_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("95%", 95.0), ("95 %", 95.0), ("９５", 95.0), ("1,000", 1000.0), (" 95 ", 95.0),
        ("≥95", 95.0), ("90以上", 90.0), (95, 95.0), (2.5, 2.5), ("０.５", 0.5), ("", None),
        (None, None), ("-", None), ("12,345.5", 12345.5), ("95％", 95.0),
    ],
)
def test_parse_number_reads_what_was_meant(raw: object, expected: float | None) -> None:
    assert parse_number(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "约九成", "12,34", "1.2.3", "nan", "inf", True])
def test_parse_number_refuses_text(raw: object) -> None:
    with pytest.raises(ValueParseError):
        parse_number(raw)


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_parse_number_round_trips_any_float_text(value: float) -> None:
    assert parse_number(repr(value)) == pytest.approx(value)


@given(st.integers(min_value=0, max_value=10**12))
def test_parse_number_reads_grouped_and_fullwidth_integers(value: int) -> None:
    grouped = f"{value:,}"
    fullwidth = str(value).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert parse_number(grouped) == value
    assert parse_number(fullwidth) == value
    assert parse_number(f" {value} %") == value


@pytest.mark.parametrize("raw", ["1e999", "-1e400", "1_000", "0x10", "1e", "+"])
def test_parse_number_refuses_what_float_alone_would_take(raw: str) -> None:
    """Plain numbers skip the normalising path; what only ``float()`` accepts must not."""
    with pytest.raises(ValueParseError):
        parse_number(raw)
