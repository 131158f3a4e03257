"""Shared by the generators in tools/: write generated files, or with --check compare them.

Every generator builds its outputs in memory as {path relative to the repository: text}. Without
arguments they are written; with ``--check`` nothing is written and the exit status is 1 when a
committed file differs from what the generator makes now (CI runs the checks).

``source``: the version of the data the outputs come from (e.g. "pydicom 3.0.2"), named in each
output's first lines. A committed file made from another version is reported and not compared: that
difference is an upgrade to make (run the generator), not an inconsistency of the repository.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]


def run(description: str, build: Callable[[], dict[str, str]], source: str | None = None) -> int:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument(
        "--check",
        action="store_true",
        help="compare with the committed files instead of writing; exit 1 on a difference",
    )
    args = ap.parse_args()
    outputs = build()
    status = 0
    for rel, text in outputs.items():
        path = ROOT / rel
        if args.check:
            old = path.read_text(encoding="utf-8") if path.exists() else None
            if old == text:
                print(f"{rel}: up to date")
                continue
            if source and old is not None and source not in "\n".join(old.splitlines()[:3]):
                print(
                    f"{rel}: made from another version than {source} (installed): not compared; "
                    f"run {Path(sys.argv[0]).name} to regenerate"
                )
                continue
            status = 1
            if old is None:
                print(f"{rel}: missing (run {Path(sys.argv[0]).name} without --check)")
                continue
            diff = list(
                difflib.unified_diff(
                    old.splitlines(), text.splitlines(), f"{rel} (committed)", f"{rel} (generated)", lineterm="", n=1
                )
            )
            print(f"{rel}: differs from the generator's output ({len(diff)} diff lines); first lines:")
            print("\n".join(diff[:20]))
        else:
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {rel}")
    return status
