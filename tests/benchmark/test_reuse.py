"""A variant run takes the stages another run finished with the same settings and inputs, and only those."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from worldplan.benchmark.grid import STAGE_RECORD, all_stages
from worldplan.benchmark.runner import run_benchmark, stages_to_run
from worldplan.config import compose

GRID = ("benchmark.planners=[cem]", "benchmark.sizes=[2]")


def _bench(out: Path, *overrides: str):
    return compose("config", ["preset=tiny", f"benchmark.out={out}", *GRID, *overrides]).benchmark


def _record(stage) -> dict:
    return json.loads((stage.output / STAGE_RECORD).read_text())


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny grid (one size, CEM, the random baseline) the variants take from."""
    out = tmp_path_factory.mktemp("base")
    run_benchmark(_bench(out), progress=False)
    return out


def test_a_pretraining_variant_takes_the_data_and_the_scratch_model_and_runs_the_rest(tmp_path: Path,
                                                                                     base_run: Path) -> None:
    variant = _bench(tmp_path / "variant", f"benchmark.reuse_from={base_run}",
                     'benchmark.extra_overrides=["++train.pretrain.steps=3"]')
    stages = all_stages(variant)
    spent = run_benchmark(variant, progress=False)
    assert set(spent) == {"pretrain", "finetune", "plan"}  # the datasets came from the base run
    assert stages_to_run(variant, stages) == []
    reused = {s.output.relative_to(variant.out).as_posix(): "reused_from" in _record(s) for s in stages}
    assert reused == {"wall/data/train": True, "wall/data/pretrain": True, "wall/checkpoints/pretrain": False,
                      "wall/checkpoints/pretrained-n2-s0": False, "wall/checkpoints/scratch-n2-s0": True,
                      "wall/eval/cem-pretrained-n2-s0": False, "wall/eval/cem-scratch-n2-s0": True,
                      "wall/eval/random": False}  # random plans with the pretrained model's encoder: its input
    scratch = next(s for s in stages if s.output.name == "scratch-n2-s0")
    same = Path(variant.out) / "wall/checkpoints/scratch-n2-s0/model.safetensors"
    assert same.stat().st_ino == (base_run / "wall/checkpoints/scratch-n2-s0/model.safetensors").stat().st_ino
    assert f"workdir={variant.out}/wall" in _record(scratch)["overrides"]  # its paths are the variant's


def test_nothing_is_taken_from_a_run_with_other_settings_or_from_nowhere(tmp_path: Path, base_run: Path) -> None:
    other = _bench(tmp_path / "other", f"benchmark.reuse_from={base_run}", "benchmark.corpus_seed_offset=7",
                   'benchmark.extra_overrides=["train.steps=3"]')
    spent = run_benchmark(other, progress=False)
    assert set(spent) == {"collect", "pretrain", "finetune", "plan"}  # only the fine-tuning data matched...
    train_data = next(s for s in all_stages(other) if s.output.name == "train")
    assert "reused_from" in _record(train_data)  # ...and it was taken
    with pytest.raises(ValueError, match="not a directory"):
        run_benchmark(_bench(tmp_path / "third", f"benchmark.reuse_from={tmp_path / 'missing'}"), progress=False)
    with pytest.raises(ValueError, match="own folder"):
        run_benchmark(_bench(base_run, f"benchmark.reuse_from={base_run}"), progress=False)


def test_an_evaluation_is_taken_where_its_checkpoint_was_made_alike_but_not_kept(tmp_path: Path,
                                                                                  base_run: Path) -> None:
    kept = tmp_path / "committed"
    shutil.copytree(base_run, kept)
    (kept / "wall/checkpoints/scratch-n2-s0/model.safetensors").unlink()  # results committed without weights
    variant = _bench(tmp_path / "variant", f"benchmark.reuse_from={kept}",
                     'benchmark.extra_overrides=["++train.pretrain.steps=3"]')
    stages = all_stages(variant)
    run_benchmark(variant, progress=False)
    scratch, scratch_plan = (next(s for s in stages if s.output.name == name)
                             for name in ("scratch-n2-s0", "cem-scratch-n2-s0"))
    assert "reused_from" in _record(scratch_plan)
    assert not scratch.output.exists()  # not linked, and not trained again: nothing needed it
