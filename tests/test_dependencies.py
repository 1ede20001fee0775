"""The pinned environment is the installed one, and the image gets the runtime only."""

from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    return {canonicalize_name(name): version for name, version in
            (line.split("==") for line in lines if line and not line.startswith("#"))}


def requirements(name: str) -> set[str]:
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return {canonicalize_name(Requirement(line).name) for line in lines
            if line.strip() and not line.startswith(("#", "-r"))}


def test_constraints_pin_exactly_what_is_installed():
    installed = {canonicalize_name(d.metadata["Name"]): d.version
                 for d in metadata.distributions() if d.metadata["Name"] != "planstats"}
    for tool in ("pip", "setuptools", "wheel"):  # the venv's own, as `pip freeze` leaves them
        installed.pop(tool, None)
    assert pins() == installed


def test_runtime_requirements_hold_no_test_tool_and_every_requirement_is_pinned():
    runtime, dev = requirements("requirements.txt"), requirements("requirements-dev.txt")
    assert {"pytest", "hypothesis", "ruff"} <= dev and not dev & runtime
    assert {"apache-airflow-providers-celery", "celery", "asyncpg"} <= runtime
    assert "redis" in pins(), "celery[redis]: the broker's client"
    assert (runtime | dev) <= set(pins())
    assert "requirements-dev" not in (ROOT / "Dockerfile").read_text(encoding="utf-8")
