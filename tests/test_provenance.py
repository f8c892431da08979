"""``git_commit``: the checkout's commit where there is one, None elsewhere (an installed wheel); ``machine``: what
timed a run."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

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


def test_the_machine_names_the_cpu_model_and_the_flags_that_set_torchs_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU @ 2 GHz\nflags\t\t: fpu avx2 amx_tile sse\n\n"
                       "processor\t: 1\nmodel name\t: Some CPU @ 2 GHz\nflags\t\t: fpu avx2 amx_tile sse\n")
    monkeypatch.setattr(provenance, "CPUINFO", cpuinfo)
    provenance.machine.cache_clear()
    described = provenance.machine()
    provenance.machine.cache_clear()
    assert described["cpu"] == "Some CPU @ 2 GHz" and described["cpu_flags"] == ["amx_tile", "avx2"]
    assert described["cpus"] == os.cpu_count() and described["torch"] == torch.__version__


def test_without_cpuinfo_the_machine_falls_back_to_the_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(provenance, "CPUINFO", tmp_path / "missing")
    provenance.machine.cache_clear()
    described = provenance.machine()
    provenance.machine.cache_clear()
    assert described["cpu"] == (platform.processor() or platform.machine()) and described["cpu_flags"] == []
