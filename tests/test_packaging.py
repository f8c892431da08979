"""The built wheel works without the repository: `worldplan.envs` & co. resolve inside site-packages."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # builds a wheel: minutes


def _run(cmd: list[str], cwd: Path) -> str:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the built wheel; its dependencies come from this interpreter's site-packages."""
    root = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(root), str(REPO)],
         cwd=root)
    (wheel,) = root.glob("worldplan-*.whl")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)}))
    # Borrow the installed dependencies (torch, gymnasium, ...) without borrowing the editable worldplan.
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
         cwd=root)
    return env_dir


def test_wheel_resolves_subpackages_inside_site_packages(wheel_venv: Path, tmp_path: Path) -> None:
    code = (
        "import worldplan.envs, worldplan.planners, worldplan.configs, importlib.resources as r;"
        "print(worldplan.envs.__file__); print(worldplan.planners.__file__);"
        "print(r.files('worldplan.configs').joinpath('config.yaml').is_file())"
    )
    out = _run([str(wheel_venv / "bin" / "python"), "-c", code], cwd=tmp_path).split()
    assert all(str(wheel_venv) in path for path in out[:2]), out
    assert out[2] == "True"


def test_wheel_cli_runs_from_another_directory(wheel_venv: Path, tmp_path: Path) -> None:
    # pip --target writes no console script; run the entry point's module as the script would.
    command = [str(wheel_venv / "bin" / "python"), "-m", "worldplan.cli"]
    out = _run([*command, "collect", "preset=tiny", "--cfg"], cwd=tmp_path)
    assert "worldplan/Wall-v0" in out
    # `envs` imports and registers every packaged env, then reads each one's documentation.
    out = _run([*command, "envs"], cwd=tmp_path)
    assert "worldplan/Wall-v0  (configured: env.id)" in out and "worldplan/PointMaze-v0" in out
