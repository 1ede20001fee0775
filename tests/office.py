"""LibreOffice headless, as a county's office suite: recalculate, re-save and render workbooks.

Each test session uses its own LibreOffice profile (never the shared default one, which another
soffice on the machine may hold). The packages come from scripts/ensure-office.sh.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def soffice() -> str:
    found = shutil.which("soffice")
    if found is None:
        pytest.fail("LibreOffice (soffice) not found: run scripts/ensure-office.sh")
    return found


@pytest.fixture(scope="session")
def office_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lo-profile")


def convert(paths: list[Path], out_dir: Path, profile: Path, fmt: str = "xlsx",
            timeout: float = 300) -> list[Path]:
    """Open each file in LibreOffice (formulas computed on load) and save it as ``fmt``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [soffice(), f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
         "--norestore", "--convert-to", fmt, "--outdir", str(out_dir), *map(str, paths)],
        capture_output=True, text=True, timeout=timeout)
    suffix = fmt.split(":")[0]
    outs = [out_dir / f"{p.stem}.{suffix}" for p in paths]
    missing = [p for p in outs if not p.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice did not write {missing}: {result.stdout} {result.stderr}")
    return outs


def render_png(path: Path, out_dir: Path, profile: Path, dpi: int = 80) -> list[Path]:
    """Print ``path`` to PDF in LibreOffice and each page to a PNG (pdftoppm)."""
    (pdf,) = convert([path], out_dir, profile, "pdf")
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.fail("pdftoppm not found: run scripts/ensure-office.sh")
    subprocess.run([pdftoppm, "-png", "-r", str(dpi), str(pdf), str(out_dir / path.stem)],
                   check=True, capture_output=True, timeout=300)
    return sorted(out_dir.glob(f"{path.stem}*.png"))
