"""The prepared GPU check runs end to end (here on the CPU at tiny sizes), so it is ready when a GPU is lent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_check_script_runs_at_tiny_sizes_and_writes_its_table(tmp_path: Path) -> None:
    out = tmp_path / "gpu_check.md"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks/gpu_check.py"), "--device", "cpu", "--quick",
                           "--repeats", "1", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    table = out.read_text()
    for row in ("encode ViT-S/14", "train step", "CEM plan"):
        assert table.count(row) == 2  # fp32 and bf16
