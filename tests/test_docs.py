"""The product stands on its own: no shipped file cites a document outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ["README.md", "ddpg_robot", "cli", "docs", "models", "examples"]


def test_no_product_file_cites_the_design_notes() -> None:
    citing = []
    for entry in PRODUCT:
        path = ROOT / entry
        files = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        for file in files:
            if file.suffix in {".py", ".md", ".toml", ".txt"} and file.is_file():
                if re.search(r"DESIGN", file.read_text(encoding="utf-8")):
                    citing.append(str(file.relative_to(ROOT)))
    assert citing == []
