"""Shared fixtures: where the real test data lives, and oracle availability."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("PETCT_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    """Path below ../shared/data; skips the test (with the reason) when that folder is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(
            f"needs the shared test data at {p} (../shared/data beside the repository, or set PETCT_SHARED_DATA)"
        )
    return p


def oracle_files() -> list[Path]:
    """Every DICOM candidate the oracle suite compares: pydicom's test files, pydicom-data's, the
    charset and palette files, and ../shared/data/real-samples/*.dcm."""
    files: list[Path] = []
    try:
        from pydicom.data import get_charset_files, get_palette_files, get_testdata_files

        files += [Path(f) for f in get_testdata_files()]
        files += [Path(f) for f in get_charset_files()]
        files += [Path(f) for f in get_palette_files()]
    except ImportError:  # pragma: no cover - pydicom is a test dependency
        pass
    real = SHARED_DATA / "real-samples"
    if real.exists():
        files += sorted(real.glob("*.dcm"))
    skip_suffixes = {".py", ".pyc", ".txt", ".json", ".md", ".gz", ".bz2", ".zip", ".xml", ".html", ".npy", ".csv"}
    seen, out = set(), []
    for f in files:
        if f.suffix.lower() in skip_suffixes or not f.is_file() or f.name in seen and f in seen:
            continue
        if f not in seen:
            seen.add(f)
            out.append(f)
    return sorted(out)
