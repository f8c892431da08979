"""The benchmark grid: which stages run, in which order, each as the normal pipeline plus overrides.

A benchmark is envs x planners x inits x fine-tuning set sizes x seeds. Per env it collects a
fine-tuning dataset and an action-free pretraining corpus (other seeds), pretrains (once per env, or
once for all envs with ``pretrain_sources=all_envs``), fine-tunes one checkpoint per (init, size,
seed) and evaluates each with every planner; oracle and random baselines give each env's reference
rows. Every stage is described by the Hydra overrides that make the ordinary subcommand do it, so a
cell can be re-run by hand with the same overrides.

Order: env by env, and within an env (size, seed) by (size, seed), both inits fine-tuned and then
planned, so that paired results land early in a long run. Each stage names the directories it reads
(``inputs``) and writes (``output``), so a resumed run skips work that only finished stages needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from worldplan.benchmark.budgets import budget_overrides
from worldplan.models.checkpoint import MODEL_FILE

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
        inputs: directories of other stages' outputs this stage reads.
        products: files beside ``done_file`` that later stages read; a stage whose done file was
            restored without them (results committed without the weights) is not done.
        ignores: override key prefixes the stage does not read beyond its kind's (``relevant_overrides``):
            a scratch model's evaluation never reads the pretraining settings.
    """

    kind: str
    env: str
    overrides: tuple[str, ...]
    done_file: Path
    cell: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[Path, ...] = ()
    products: tuple[str, ...] = ()
    ignores: tuple[str, ...] = ()

    @property
    def output(self) -> Path:
        """The directory the stage writes (its done file's directory)."""
        return self.done_file.parent


STAGE_RECORD = "benchmark_stage.json"  # beside each stage's done file: its overrides, seconds, threads, machine
SHARED = "all_envs"  # the stage env (and folder) of a pretraining shared by every env


def env_root(bench: DictConfig, env: str) -> Path:
    """Where one env's data, checkpoints and evaluations live (``SHARED``: the shared pretraining)."""
    return Path(bench.out) / env


def _base(bench: DictConfig, env: str, seed: int) -> tuple[str, ...]:
    return (f"env={env}", f"workdir={env_root(bench, env)}", f"seed={seed}")


def finetune_name(init: str, size: int, seed: int) -> str:
    return f"{init}-n{size}-s{seed}"


def pretrained_dir(bench: DictConfig, env: str) -> Path:
    """The pretrained checkpoint an env's ``init=pretrained`` models start from."""
    owner = SHARED if bench.pretrain_sources == "all_envs" else env
    return env_root(bench, owner) / "checkpoints/pretrain"


def collect_stages(bench: DictConfig, env: str) -> list[Stage]:
    """The env's fine-tuning dataset (seed 0 stream) and pretraining corpus (offset seeds)."""
    root = env_root(bench, env)
    total = max(bench.sizes) + bench.validation_episodes
    corpus_seed = bench.corpus_seed_offset
    return [
        Stage("collect", env, (*_base(bench, env, 0), f"data.out={root}/data/train", f"data.episodes={total}"),
              root / "data/train/meta.json"),
        Stage("collect", env, (*_base(bench, env, corpus_seed), f"data.out={root}/data/pretrain",
                               f"data.episodes={bench.pretrain_episodes}"), root / "data/pretrain/meta.json"),
    ]


def pretrain_stage(bench: DictConfig, env: str) -> Stage:
    """Action-free pretraining on ``env``'s corpus, or on every env's (``env == SHARED``)."""
    corpus_envs = bench.envs if env == SHARED else [env]
    corpora = tuple(env_root(bench, e) / "data/pretrain" for e in corpus_envs)
    home = corpus_envs[0] if env == SHARED else env  # the shared run composes with the first env's config
    overrides = (f"env={home}", f"workdir={env_root(bench, env)}", "seed=0",
                 f"train.pretrain.sources=[{','.join(map(str, corpora))}]")
    return Stage("pretrain", env, overrides, pretrained_dir(bench, home) / "meta.json", inputs=corpora,
                 products=(MODEL_FILE,))


def _val_fraction(bench: DictConfig) -> float:
    return bench.validation_episodes / (max(bench.sizes) + bench.validation_episodes)


def finetune_stage(bench: DictConfig, env: str, init: str, size: int, seed: int) -> Stage:
    """One fine-tuning run; scratch and pretrained differ only in ``init`` and that init's
    ``benchmark.init_overrides`` (say the pretrained model's action blocks trained alone)."""
    root, name = env_root(bench, env), finetune_name(init, size, seed)
    pretrained = pretrained_dir(bench, env)
    overrides = (*_base(bench, env, seed), f"train.init={init}", f"train.finetune.episodes={size}",
                 f"train.val_fraction={_val_fraction(bench)}", f"train.finetune.pretrained={pretrained}",
                 f"train.finetune.out={root}/checkpoints/{name}", f"train.finetune.run_dir={root}/train/{name}",
                 *init_overrides(bench, init))
    inputs = (root / "data/train", *((pretrained,) if init == "pretrained" else ()))
    return Stage("finetune", env, overrides, root / f"checkpoints/{name}/metrics.json", inputs=inputs,
                 products=(MODEL_FILE,))


def plan_stage(bench: DictConfig, env: str, seed: int, name: str, checkpoint: Path, overrides: tuple[str, ...],
                cell: dict[str, Any]) -> Stage:
    """One evaluation; a scratch model's ignores ``train.pretrain.*``, so a pretraining variant keeps it."""
    root = env_root(bench, env)
    return Stage("plan", env, (*_base(bench, env, seed), f"eval.name={name}", f"eval.checkpoint={checkpoint}",
                               *overrides),
                 root / f"eval/{name}/summary.json", {"env": env, "seed": seed, **cell}, inputs=(checkpoint,),
                 ignores=OTHER_STAGE["finetune"] if cell.get("model") == "scratch" else ())


def model_stages(bench: DictConfig, env: str) -> list[Stage]:
    """Per (size, seed), in the order of ``benchmark.sizes``: both inits fine-tuned, then each evaluated
    with every planner (same task seeds); the baselines right after the model they take their encoder
    from (largest size, first seed), so the bounds land early in a long run."""
    stages = []
    for size, seed in product(bench.sizes, bench.seeds):
        finetunes = [finetune_stage(bench, env, init, size, seed) for init in bench.inits]
        stages += finetunes
        for planner, (init, finetune) in product(bench.planners, zip(bench.inits, finetunes)):
            stages.append(plan_stage(bench, env, seed, f"{planner}-{finetune_name(init, size, seed)}",
                                      finetune.output, (*planner_choice(bench, planner), "eval.model=checkpoint"),
                                      {"planner": planner, "model": init, "size": size}))
        if (size, seed) == (max(bench.sizes), bench.seeds[0]):
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
    seed = bench.seeds[0]
    reference = env_root(bench, env) / f"checkpoints/{finetune_name(bench.inits[0], max(bench.sizes), seed)}"
    episodes = _baseline_episodes(bench)
    stages = []
    if "oracle" in bench.baselines and (bench.oracle_envs is None or env in bench.oracle_envs):
        for planner in bench.oracle_planners or bench.planners:
            stages.append(plan_stage(bench, env, seed, f"{planner}-oracle", reference,
                                      (*planner_choice(bench, planner), "eval.model=oracle", *episodes),
                                      {"planner": planner, "model": "oracle", "size": None}))
    if "random" in bench.baselines:
        stages.append(plan_stage(bench, env, seed, "random", reference, ("eval.model=random", *episodes),
                                  {"planner": "random", "model": "random", "size": None}))
    return stages


def sweep_stages(bench: DictConfig) -> list[Stage]:
    """The planner sweep (``benchmark.sweep``): one plan stage per (env, checkpoint, planner, budget) of
    checkpoints fine-tuned by an earlier run (``sweep.source``), all at seed ``sweep.seed`` (paired tasks)."""
    sweep, stages = bench.sweep, []
    for env, checkpoint, planner, budget in product(bench.envs, sweep.checkpoints, sweep.planners, sweep.budgets):
        source = Path(sweep.source) / env / "checkpoints" / checkpoint
        stages.append(plan_stage(bench, env, int(sweep.seed), f"{planner}-b{budget}-{checkpoint}", source,
                                 (f"planner={planner}", *budget_overrides(planner, int(budget)),
                                  "eval.model=checkpoint"),
                                 {"planner": planner, "model": checkpoint, "size": None, "budget": int(budget)}))
    return stages


def init_overrides(bench: DictConfig, init: str) -> tuple[str, ...]:
    """The overrides ``benchmark.init_overrides.<init>`` adds to that init's fine-tuning stages."""
    return _listed(bench, "init_overrides", init)


def planner_choice(bench: DictConfig, planner: str) -> tuple[str, ...]:
    """``planner=<name>`` and that planner's budget overrides (``benchmark.planner_overrides.<name>``)."""
    return (f"planner={planner}", *_listed(bench, "planner_overrides", planner))


def _listed(bench: DictConfig, mapping: str, key: str) -> tuple[str, ...]:
    """``benchmark.<mapping>.<key>`` as a tuple of overrides (empty where the mapping or key is unset)."""
    own = (bench.get(mapping) or {}).get(key) or []
    return tuple(OmegaConf.to_container(OmegaConf.create(list(own)), resolve=True))


def _baseline_episodes(bench: DictConfig) -> tuple[str, ...]:
    """Overrides giving a baseline row ``baseline_episodes`` episodes, all in one batch (none if null)."""
    count = bench.baseline_episodes
    return () if count is None else (f"eval.episodes={count}", f"eval.batch_size={count}")


def all_stages(bench: DictConfig) -> list[Stage]:
    """The whole benchmark in dependency order, env by env (shared collection and pretraining first)."""
    unknown = set(bench.baselines) - {"oracle", "random"}
    if unknown:
        raise ValueError(f"benchmark.baselines has unknown entries {sorted(unknown)}: use oracle and/or random")
    if bench.get("sweep"):
        return sweep_stages(bench)
    if bench.pretrain_sources not in ("own_env", SHARED):
        raise ValueError(f"benchmark.pretrain_sources={bench.pretrain_sources!r}: use own_env or {SHARED}")
    model_envs = finetune_envs(bench)
    if bench.pretrain_sources == SHARED:
        shared = [s for env in bench.envs for s in collect_stages(bench, env)] + [pretrain_stage(bench, SHARED)]
        return shared + [s for env in model_envs for s in model_stages(bench, env)]
    return [s for env in model_envs for s in _own_env_stages(bench, env)]


def _own_env_stages(bench: DictConfig, env: str) -> list[Stage]:
    return [*collect_stages(bench, env), pretrain_stage(bench, env), *model_stages(bench, env)]


def report_stages(bench: DictConfig) -> list[Stage]:
    """What a run folder's report covers: ``bench``'s grid and, with its sizes, seeds and planners, that of
    every other env with a fine-tuning dataset under ``benchmark.out``. Processes run side by side, one
    per env (``benchmark.envs=[wall]``, ``[reacher]``, ...), then each rewrite the report with every env's
    finished cells, not with their own env's alone."""
    stages = all_stages(bench)
    if bench.get("sweep"):
        return stages
    listed = set(finetune_envs(bench))
    others = [path.parents[2].name for path in sorted(Path(bench.out).glob("*/data/train/meta.json"))]
    per_env = _own_env_stages if bench.pretrain_sources != SHARED else model_stages
    return stages + [s for env in others if env not in listed for s in per_env(bench, env)]


def finetune_envs(bench: DictConfig) -> list[str]:
    """The envs whose models are fine-tuned and planned: ``benchmark.finetune_envs``, or every env if unset.
    With ``pretrain_sources=all_envs`` the others still give the shared pretraining their corpus."""
    chosen = list(bench.get("finetune_envs") or bench.envs)
    unknown = [env for env in chosen if env not in bench.envs]
    if unknown:
        raise ValueError(f"benchmark.finetune_envs has {unknown}, not in benchmark.envs={list(bench.envs)}")
    return chosen


# Config groups each stage kind reads: a change elsewhere (say the planner budget) leaves finished data
# and training stages valid. Plan stages read everything.
READS = {"collect": ("env", "data", "seed", "workdir", "preset"),
         "pretrain": ("env", "encoder", "predictor", "train", "seed", "workdir", "preset", "device"),
         "finetune": ("env", "encoder", "predictor", "train", "seed", "workdir", "preset", "device")}
# Keys that change what a stage shows or logs, never what it produces: toggling them keeps finished stages.
DISPLAY_ONLY = ("train.progress", "train.tensorboard", "train.wandb", "train.log_every")
# The other training stage's settings, inside the train group both read: a pretraining never reads train.finetune.*,
# a fine-tune never train.pretrain.* (it reads the pretrained checkpoint, by its path).
OTHER_STAGE = {"pretrain": ("train.finetune.",), "finetune": ("train.pretrain.",)}


def _group(override: str) -> str:
    """The config group an override sets: ``++train.pretrain.steps=5`` -> ``train``."""
    return override.lstrip("+~").split("=", 1)[0].split(".", 1)[0]


def relevant_overrides(kind: str, overrides: list[str], ignores: tuple[str, ...] = ()) -> dict[str, str]:
    """The settings a stage of ``kind`` depends on, as the config they make: key -> value, the last
    override of a key winning (so moving a key between the common and a stage's own overrides, or
    reordering distinct keys, changes nothing; what its record is compared by). ``DISPLAY_ONLY`` keys,
    the other training stage's (``OTHER_STAGE``) and keys starting with one of ``ignores`` are left out."""
    groups, skipped = READS.get(kind), (*OTHER_STAGE.get(kind, ()), *ignores)
    effective = {}
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if (groups is None or _group(override) in groups) and key not in DISPLAY_ONLY and not key.startswith(skipped):
            effective[key] = value
    return effective


def made_alike(bench: DictConfig, stage: Stage, made_with: list[str]) -> bool:
    """Whether a stage made with the overrides ``made_with`` is the one ``stage`` would make now."""
    settings = [relevant_overrides(stage.kind, o, stage.ignores) for o in (made_with, stage_overrides(bench, stage))]
    return settings[0] == settings[1]


def stage_overrides(bench: DictConfig, stage: Stage) -> list[str]:
    """The full override list of a stage: the benchmark's common overrides, its ``extra_overrides`` (a
    variant's additions, set from the command line), then the stage's own."""
    extra = bench.get("extra_overrides") or []
    return [*OmegaConf.to_container(bench.overrides, resolve=True), *extra, *stage.overrides]
