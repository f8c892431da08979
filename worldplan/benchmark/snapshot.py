"""Commit a long benchmark's results as they land, and resume it in a later session from them.

    python -m worldplan.benchmark.snapshot save    <run dir> <committed dir> [--benchmark cpu]
    python -m worldplan.benchmark.snapshot restore <run dir> <committed dir>

save first rewrites the run folder's report over every finished stage of the preset's whole grid
(``--benchmark``, all its envs: one process per env may still be running), then copies what is
small and final into a committed folder: the report files
(``episodes.jsonl``, ``validation.jsonl``, ``cells.jsonl``, ``results.md``, ``efficiency.md``,
plots, the run's timed log ``run.log``) and, under ``run/``, each finished evaluation's summary,
episodes and stage record, each fine-tuning's metrics and record, and each pretraining's meta.json.
Of the weights it keeps only the pretrained predictors (``checkpoints/pretrain``: what the remaining
fine-tunes start from), without their encoder: a checkpoint of ``encoder.weights=random`` holds the
seeded random ViT (86 MB), which restore rebuilds and checks against the SHA-256 kept beside the
predictor (2 MB). restore copies ``run/`` back into a run folder: the benchmark then skips the finished
evaluations, the fine-tunes and corpora only they needed, and the pretraining
(``worldplan.benchmark.runner.stages_to_run``), and the log when the run folder has none. A fine-tune that
an unfinished evaluation needs is trained again from its seed (its weights are not kept; the same model on
the same machine).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import load_file, save_file

from worldplan.atomic import atomic_path
from worldplan.benchmark.efficiency import EPISODES_FILE, write_efficiency_report
from worldplan.benchmark.grid import all_stages
from worldplan.benchmark.report import write_report
from worldplan.benchmark.runner import RUN_LOG
from worldplan.config import compose
from worldplan.models.checkpoint import META_FILE, MODEL_FILE
from worldplan.models.encoder import FrozenEncoder
from worldplan.train.state import state_sha256

REPORT = ("episodes.jsonl", "validation.jsonl", "cells.jsonl", "results.md", "efficiency.md", "run_times.json",
          "*.png", RUN_LOG)
RUN_FILES = ("*/eval/*/summary.json", "*/eval/*/episodes.jsonl", "*/eval/*/benchmark_stage.json",
             "*/checkpoints/*/metrics.json", "*/checkpoints/*/benchmark_stage.json", "*/checkpoints/pretrain/meta.json")
KEPT_WEIGHTS = "*/checkpoints/pretrain"  # checkpoints whose predictor weights are kept
PREDICTOR_FILE = "predictor.safetensors"  # a kept checkpoint's weights without the encoder's
ENCODER_PREFIX = "encoder."


def _copy(files: list[Path], source: Path, target: Path) -> int:
    for path in files:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    return len(files)


def save(run: Path, kept: Path, *, preset: str | None = None) -> int:
    """Rewrite ``run``'s report for benchmark ``preset`` (if given), then copy the report files, the
    light run files of ``run`` and the pretrained predictors into ``kept``; return how many files."""
    if preset is not None:
        stages = all_stages(compose("config", [f"benchmark={preset}", f"benchmark.out={run}"]).benchmark)
        if any(stage.kind == "plan" and stage.done_file.exists() for stage in stages):
            write_report(run, stages)
    report = [p for pattern in REPORT for p in run.glob(pattern) if p.is_file()]
    light = [p for pattern in RUN_FILES for p in run.glob(pattern) if p.is_file()]
    weights = sum(_keep_predictor(c, kept / "run" / c.relative_to(run)) for c in run.glob(KEPT_WEIGHTS)
                  if (c / MODEL_FILE).is_file())
    count = _copy(report, run, kept) + _copy(light, run, kept / "run") + weights
    if (kept / EPISODES_FILE).exists():
        write_efficiency_report(kept)  # again from the copy, so it names the committed folder to regenerate from
    return count


def _keep_predictor(checkpoint: Path, target: Path) -> bool:
    """Write ``checkpoint``'s weights minus its seeded random encoder to ``target/predictor.safetensors``,
    with the encoder's SHA-256; False (nothing written) for a checkpoint of any other encoder."""
    meta = json.loads((checkpoint / META_FILE).read_text())
    if not (meta.get("encoder_in_file") and (meta.get("encoder") or {}).get("weights") == "random"):
        return False
    tensors = load_file(str(checkpoint / MODEL_FILE))
    encoder = {k: v for k, v in tensors.items() if k.startswith(ENCODER_PREFIX)}
    with atomic_path(target / PREDICTOR_FILE) as tmp:
        save_file({k: v for k, v in tensors.items() if k not in encoder}, str(tmp),
                  metadata={"encoder_sha256": state_sha256(encoder)})
    return True


def _rebuild_checkpoint(predictor: Path, target: Path) -> None:
    """``target/model.safetensors`` from a kept predictor and its rebuilt seeded random encoder.

    Raises:
        ValueError: the encoder rebuilt here is not bit-identical to the one trained with (another timm).
    """
    settings = json.loads((predictor.parent / META_FILE).read_text())["encoder"]
    encoder = {ENCODER_PREFIX + k: v for k, v in FrozenEncoder.from_config(settings).state_dict().items()}
    with safe_open(str(predictor), "pt") as handle:
        expected = handle.metadata()["encoder_sha256"]
    if state_sha256(encoder) != expected:
        raise ValueError(f"the random encoder rebuilt for {predictor} differs from the one it was trained with "
                         "(another timm or torch version?): delete the pretraining there and let it run again")
    with atomic_path(target / MODEL_FILE) as tmp:
        save_file({**load_file(str(predictor)), **encoder}, str(tmp))


def restore(run: Path, kept: Path) -> int:
    """Copy ``kept/run`` back into ``run`` and rebuild the kept checkpoints; return how many files. The kept
    ``run.log`` goes back too unless ``run`` has one, so the resumed run appends to the log it continues."""
    files = [p for p in (kept / "run").rglob("*") if p.is_file() and p.name != PREDICTOR_FILE]
    count = _copy(files, kept / "run", run)
    if (kept / RUN_LOG).is_file() and not (run / RUN_LOG).exists():
        count += _copy([kept / RUN_LOG], kept, run)
    for predictor in (kept / "run").glob(f"{KEPT_WEIGHTS}/{PREDICTOR_FILE}"):
        _rebuild_checkpoint(predictor, run / predictor.parent.relative_to(kept / "run"))
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("save", "restore"))
    parser.add_argument("run", type=Path, help="the benchmark's run folder (benchmark.out)")
    parser.add_argument("kept", type=Path, help="the committed folder, e.g. docs/results/data_efficiency")
    parser.add_argument("--benchmark", default="cpu", help="save: the preset whose report is rewritten first")
    args = parser.parse_args()
    count = save(args.run, args.kept, preset=args.benchmark) if args.mode == "save" else restore(args.run, args.kept)
    print(f"{args.mode}: {count} files")


if __name__ == "__main__":
    main()
