"""``git_commit``: the checkout's commit where there is one, None elsewhere (an installed wheel)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import worldplan
from worldplan import provenance


@pytest.fixture(autouse=True)
def _fresh_cache():
    provenance.git_commit.cache_clear()
    yield
    provenance.git_commit.cache_clear()


def test_a_checkout_names_its_head_commit() -> None:
    root = Path(worldplan.__file__).resolve().parent.parent
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    if shutil.which("git") is None or head.returncode != 0:
        pytest.skip("worldplan is not running from a git checkout here")
    assert provenance.git_commit() == head.stdout.strip()


def test_outside_a_checkout_there_is_no_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worldplan, "__file__", str(tmp_path / "worldplan" / "__init__.py"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # git must not find a repository above tmp_path
    assert provenance.git_commit() is None
