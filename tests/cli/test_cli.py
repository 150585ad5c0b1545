"""The command-line front-end: help text, generated docs kept current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sageforge.cli.coverage import coverage_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_coverage_doc_is_current() -> None:
    assert (ROOT / "docs" / "coverage.md").read_text() == coverage_markdown(), (
        "run: sageforge coverage > docs/coverage.md"
    )


def test_serve_help_lists_the_documented_flags() -> None:
    result = subprocess.run([sys.executable, "-m", "sageforge", "serve", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    flags = ("--host", "--port", "--data-dir", "--database-url", "--backend", "--ray-address", "--ray-instance-types")
    for flag in flags:
        assert flag in result.stdout
