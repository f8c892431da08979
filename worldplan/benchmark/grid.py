"""The benchmark grid: which stages run, in which order, each as the normal pipeline plus overrides.

A benchmark is envs x planners x inits x fine-tuning set sizes x seeds. Per env it collects a
fine-tuning dataset and an action-free pretraining corpus (other seeds), pretrains once, fine-tunes
one checkpoint per (init, size, seed) and evaluates each with every planner; oracle and random
baselines give each env's reference rows. Every stage is described by the Hydra overrides that make
the ordinary subcommand do it, so a cell can be re-run by hand with the same overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

STAGES = ("collect", "pretrain", "finetune", "plan")


@dataclass(frozen=True)
class Stage:
    """One unit of benchmark work.

    Attributes:
        kind: one of ``STAGES``.
        env: env config name (``configs/env/<env>.yaml``).
        overrides: Hydra overrides on top of the benchmark's common overrides.
        done_file: the file whose presence means the stage finished (it is skipped on re-runs).
        cell: what the stage's results are keyed by in the report (empty for non-plan stages).
    """

    kind: str
    env: str
    overrides: tuple[str, ...]
    done_file: Path
    cell: dict[str, Any] = field(default_factory=dict)


def env_root(bench: DictConfig, env: str) -> Path:
    """Where one env's data, checkpoints and evaluations live."""
    return Path(bench.out) / env


def _base(bench: DictConfig, env: str, seed: int) -> tuple[str, ...]:
    return (f"env={env}", f"workdir={env_root(bench, env)}", f"seed={seed}")


def finetune_name(init: str, size: int, seed: int) -> str:
    return f"{init}-n{size}-s{seed}"


def trained_models(bench: DictConfig) -> list[tuple[str, int, int, str]]:
    """Every fine-tuned model of one env: (init, size, seed, checkpoint name)."""
    return [(init, size, seed, finetune_name(init, size, seed))
            for init, size, seed in product(bench.inits, bench.sizes, bench.seeds)]


def collect_stages(bench: DictConfig) -> list[Stage]:
    """Per env: the fine-tuning dataset (seed 0 stream) and the pretraining corpus (offset seeds)."""
    stages = []
    total = max(bench.sizes) + bench.validation_episodes
    for env in bench.envs:
        root = env_root(bench, env)
        stages.append(Stage("collect", env, (*_base(bench, env, 0), f"data.out={root}/data/train",
                                             f"data.episodes={total}"), root / "data/train/meta.json"))
        corpus_seed = bench.corpus_seed_offset
        stages.append(Stage("collect", env, (*_base(bench, env, corpus_seed), f"data.out={root}/data/pretrain",
                                             f"data.episodes={bench.pretrain_episodes}"),
                            root / "data/pretrain/meta.json"))
    return stages


def pretrain_stages(bench: DictConfig) -> list[Stage]:
    """Per env, one action-free pretraining run on its corpus (and the other envs' if ``all_envs``)."""
    if bench.pretrain_sources not in ("own_env", "all_envs"):
        raise ValueError(f"benchmark.pretrain_sources={bench.pretrain_sources!r}: use own_env or all_envs")
    stages = []
    for env in bench.envs:
        corpus_envs = bench.envs if bench.pretrain_sources == "all_envs" else [env]
        sources = ",".join(str(env_root(bench, e) / "data/pretrain") for e in corpus_envs)
        root = env_root(bench, env)
        stages.append(Stage("pretrain", env, (*_base(bench, env, 0), f"train.pretrain.sources=[{sources}]"),
                            root / "checkpoints/pretrain/meta.json"))
    return stages


def _val_fraction(bench: DictConfig) -> float:
    return bench.validation_episodes / (max(bench.sizes) + bench.validation_episodes)


def finetune_stages(bench: DictConfig) -> list[Stage]:
    """One fine-tuning run per (env, init, size, seed); scratch and pretrained differ only in ``init``."""
    stages = []
    for env in bench.envs:
        root = env_root(bench, env)
        for init, size, seed, name in trained_models(bench):
            overrides = (*_base(bench, env, seed), f"train.init={init}", f"train.finetune.episodes={size}",
                         f"train.val_fraction={_val_fraction(bench)}", f"train.finetune.out={root}/checkpoints/{name}",
                         f"train.finetune.run_dir={root}/train/{name}")
            stages.append(Stage("finetune", env, overrides, root / f"checkpoints/{name}/metrics.json"))
    return stages


def _plan_stage(bench: DictConfig, env: str, seed: int, name: str, overrides: tuple[str, ...],
                cell: dict[str, Any]) -> Stage:
    root = env_root(bench, env)
    return Stage("plan", env, (*_base(bench, env, seed), f"eval.name={name}", *overrides),
                 root / f"eval/{name}/summary.json", {"env": env, "seed": seed, **cell})


def plan_stages(bench: DictConfig) -> list[Stage]:
    """Every (env, planner, init, size, seed) evaluation, then the baselines' (seed 0)."""
    stages = []
    for env in bench.envs:
        root = env_root(bench, env)
        for planner in bench.planners:
            for init, size, seed, model in trained_models(bench):
                stages.append(_plan_stage(
                    bench, env, seed, f"{planner}-{model}",
                    (f"planner={planner}", "eval.model=checkpoint", f"eval.checkpoint={root}/checkpoints/{model}"),
                    {"planner": planner, "model": init, "size": size}))
        stages += baseline_stages(bench, env)
    return stages


def baseline_stages(bench: DictConfig, env: str) -> list[Stage]:
    """Oracle (true simulator as the model) per planner, and the random policy once, at seed 0.

    Each baseline row has ``baseline_episodes`` episodes (null: ``eval.episodes``), so it can match
    the model rows' episodes summed over seeds. The oracle renders and encodes every candidate, so
    ``oracle_envs`` and ``oracle_planners`` can shrink it (null: every env and planner of the grid).

    They use the encoder and frameskip of the seed-0 checkpoint of the largest pretrained fine-tune, so
    their latent costs are comparable with the learned models'.
    """
    root, seed = env_root(bench, env), bench.seeds[0]
    reference = f"{root}/checkpoints/{finetune_name(bench.inits[0], max(bench.sizes), seed)}"
    stages = []
    if "oracle" in bench.baselines and env in (bench.oracle_envs or bench.envs):
        episodes = _baseline_episodes(bench)
        for planner in bench.oracle_planners or bench.planners:
            stages.append(_plan_stage(bench, env, seed, f"{planner}-oracle",
                                      (f"planner={planner}", "eval.model=oracle", f"eval.checkpoint={reference}",
                                       *episodes), {"planner": planner, "model": "oracle", "size": None}))
    if "random" in bench.baselines:
        stages.append(_plan_stage(bench, env, seed, "random", ("eval.model=random", f"eval.checkpoint={reference}",
                                                               *_baseline_episodes(bench)),
                                  {"planner": "random", "model": "random", "size": None}))
    return stages


def _baseline_episodes(bench: DictConfig) -> tuple[str, ...]:
    """Overrides giving a baseline row ``baseline_episodes`` episodes, all in one batch (none if null)."""
    count = bench.baseline_episodes
    return () if count is None else (f"eval.episodes={count}", f"eval.batch_size={count}")


def all_stages(bench: DictConfig) -> list[Stage]:
    """The whole benchmark in dependency order."""
    unknown = set(bench.baselines) - {"oracle", "random"}
    if unknown:
        raise ValueError(f"benchmark.baselines has unknown entries {sorted(unknown)}: use oracle and/or random")
    return collect_stages(bench) + pretrain_stages(bench) + finetune_stages(bench) + plan_stages(bench)


def stage_overrides(bench: DictConfig, stage: Stage) -> list[str]:
    """The full override list of a stage: the benchmark's common overrides, then the stage's own."""
    return [*OmegaConf.to_container(bench.overrides, resolve=True), *stage.overrides]
