"""The topology test's figures, shown at the end of the test output."""

from __future__ import annotations

import json
from typing import Any

import pytest

FIGURES: dict[str, Any] = {}


@pytest.fixture(scope="session")
def topology_report() -> dict[str, Any]:
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("production topology: figures")
    for name, value in FIGURES.items():
        if isinstance(value, list):
            terminalreporter.write_line(f"{name}:")
            for row in value:
                terminalreporter.write_line(f"  {row}")
        else:
            terminalreporter.write_line(f"{name}: {json.dumps(value, ensure_ascii=False)}")
