"""Evaluate a checkpoint (or the oracle / random baseline) by MPC on ``cfg.env``; the library of ``worldplan plan``.

Reads ``cfg.eval`` (see ``configs/eval/default.yaml``), ``cfg.env``, ``cfg.planner``, ``cfg.encoder``
(only for oracle / random without a checkpoint), ``cfg.seed``, ``cfg.device`` and ``cfg.workdir``;
writes ``${workdir}/eval/<name>/``: episodes.jsonl, summary.json (summary + protocol), videos/,
cost_per_iteration.png and config.yaml.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

import worldplan
from worldplan.byo import resolve_env
from worldplan.byo.factory import env_identity
from worldplan.config import save_config
from worldplan.data.episodes import META_FILE, read_meta
from worldplan.envs import make_env
from worldplan.evaluate.goals import check_goal_source
from worldplan.evaluate.imagined import imagined_source
from worldplan.evaluate.mpc import EvalModel
from worldplan.evaluate.oracle import OracleModel
from worldplan.evaluate.runner import (
    SUMMARY_FILE,
    VIDEOS_DIR,
    eval_episode_seed,
    evaluate_episodes,
    save_evaluation,
)
from worldplan.models import FrozenEncoder, WorldModel, load_world_model, read_checkpoint_meta, resolve_device
from worldplan.models.decoder import read_decoder_meta
from worldplan.models.hub import is_hub_ref
from worldplan.planners import RandomPlanner, build_planner
from worldplan.planners.base import Planner
from worldplan.provenance import git_commit

logger = logging.getLogger(__name__)

MODELS = ("checkpoint", "oracle", "random")
DEFAULT_FRAMESKIP = 5  # DINO-WM's; oracle / random use it when neither a checkpoint nor env.frameskip sets one


@dataclass(frozen=True)
class EnvInfo:
    """What planning needs to know about the env, read from one probe instance."""

    id: str  # the gym id and kwargs that recreate the env (worldplan.byo.resolve_env)
    kwargs: dict[str, Any]
    success_source: str  # "env" (the env's threshold), "user_function:<ref>" or "latent_threshold"
    action_low: np.ndarray  # (A_env,)
    action_high: np.ndarray  # (A_env,)
    image_size: int  # S
    fps: float
    success_threshold: float
    proprio_dim: int  # Sp, the size of the env's proprioception (0: it has none)


@dataclass(frozen=True)
class EvalSetup:
    """The model to plan with and the settings it fixes."""

    model: EvalModel
    frameskip: int
    context_frames: int
    encoder_identity: dict[str, Any]
    checkpoint_meta: dict[str, Any] | None


def probe_env(env_id: str, env_kwargs: Mapping[str, Any]) -> EnvInfo:
    """Make one env to read its action bounds, image size, control rate, success threshold and proprioception."""
    env = make_env(env_id, env_kwargs)
    try:
        space, base = env.action_space, env.unwrapped
        return EnvInfo(id=env_id, kwargs=dict(env_kwargs), success_source=str(getattr(base, "success_source", "env")),
                       action_low=np.asarray(space.low, np.float32), action_high=np.asarray(space.high, np.float32),
                       image_size=int(env.observation_space.shape[0]), fps=float(base.metadata["render_fps"]),
                       success_threshold=float(base.success_threshold), proprio_dim=int(base.proprio_dim))
    finally:
        env.close()


def checkpoint_env(meta: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The env (id, kwargs) a checkpoint was trained on: ``train.env_id`` / ``train.env_kwargs`` in its
    meta, else its dataset's ``meta.json``.

    Returns None (and logs a warning) when neither is available, e.g. the dataset was moved.
    """
    train = meta.get("train") or {}
    if train.get("env_id"):
        return str(train["env_id"]), dict(train.get("env_kwargs") or {})
    dataset = train.get("dataset")
    if dataset and (Path(dataset) / META_FILE).is_file():
        dataset_meta = read_meta(dataset)
        return dataset_meta.env_id, dict(dataset_meta.env_kwargs)
    logger.warning("cannot tell which env the checkpoint was trained on (no train.env_id, dataset %s not found)",
                   dataset)
    return None


def check_checkpoint(model: WorldModel, meta: Mapping[str, Any], env_id: str, env: EnvInfo, path: str) -> None:
    """Refuse a checkpoint that cannot plan on ``env_id``.

    Raises:
        ValueError: it has no encoder, takes no actions, was trained on another env, on another image size,
            with another action size per model step, or takes proprioception the env does not expose.
    """
    if model.encoder is None:
        raise ValueError(f"checkpoint {path} has no encoder (trained on cached features only); it cannot encode "
                         "the env's frames")
    if model.action_dim is None:
        raise ValueError(f"checkpoint {path} is action-free (pretrained only): fine-tune it before planning")
    trained_env = checkpoint_env(meta)
    trained_on = None if trained_env is None else env_identity(*trained_env)
    evaluated = env_identity(env_id, env.kwargs)
    if trained_on is not None and trained_on != evaluated:
        raise ValueError(f"checkpoint {path} was trained on {trained_on} but the env is {evaluated}; "
                         f"evaluate it on its env (env=...) or pick a checkpoint of {evaluated}")
    if model.frame_size is not None and model.frame_size != env.image_size:
        raise ValueError(f"checkpoint {path} was trained on {model.frame_size} px frames but the env renders "
                         f"{env.image_size} px: set env.kwargs.image_size={model.frame_size}")
    expected = model.window.frameskip * env.action_low.size
    if model.action_dim != expected:
        raise ValueError(f"checkpoint {path} takes {model.action_dim} action values per model step but {env_id} "
                         f"needs frameskip {model.window.frameskip} x {env.action_low.size} = {expected}")
    proprio = model.predictor.arch["proprio_dim"]
    if proprio and proprio != env.proprio_dim:
        exposed = f"exposes {env.proprio_dim}" if env.proprio_dim else "exposes none (proprio_dim 0)"
        raise ValueError(f"checkpoint {path} takes {proprio} proprioception values but {env_id} {exposed}: plan it "
                         "on the env it was trained on, or fine-tune a checkpoint with train.proprio=false")


def _resolve(value: int | None, from_checkpoint: int | None, default: int, name: str) -> int:
    """An eval setting: given, else the checkpoint's, else ``default``; a given one must match the checkpoint."""
    if value is not None and from_checkpoint is not None and int(value) != from_checkpoint:
        raise ValueError(f"eval.{name}={value} but the checkpoint was trained with {name} {from_checkpoint}; "
                         f"leave eval.{name}=null to use the checkpoint's")
    if value is not None:
        return int(value)
    return from_checkpoint if from_checkpoint is not None else default


def check_model_choice(cfg: DictConfig) -> None:
    """``eval.model`` is known, and a checkpoint is given when it is the model."""
    if cfg.eval.model not in MODELS:
        raise ValueError(f"eval.model={cfg.eval.model!r} is not one of {', '.join(MODELS)}")
    if cfg.eval.model == "checkpoint" and not cfg.eval.checkpoint:
        raise ValueError("eval.model=checkpoint needs eval.checkpoint=<checkpoint dir> (or eval.model=oracle|random)")


def check_frameskips(cfg: DictConfig) -> None:
    """``eval.frameskip`` and ``env.frameskip``, where set, are >= 1 (env steps per model step)."""
    for key, value in (("eval.frameskip", cfg.eval.frameskip), ("env.frameskip", cfg.env.get("frameskip"))):
        if value is not None and int(value) < 1:
            raise ValueError(f"{key}={value}: frameskip is env steps per model step and must be >= 1 "
                             f"(null: the checkpoint's, else {DEFAULT_FRAMESKIP})")


def load_eval_model(cfg: DictConfig, env: EnvInfo, device: torch.device) -> EvalSetup:
    """The learned model, or the oracle (also the encoder holder of the random baseline)."""
    kind, path = cfg.eval.model, cfg.eval.checkpoint
    world_model, meta = None, None
    if path:
        meta = read_checkpoint_meta(path)
        world_model = load_world_model(path, device=device)
        world_model.memory_budget_mb = cfg.eval.memory_budget_mb
        world_model.requires_grad_(False)  # planning differentiates the actions (gradient planners), never the weights
        check_checkpoint(world_model, meta, env.id, env, str(path))
    window = world_model.window if world_model is not None else None
    env_frameskip = cfg.env.get("frameskip")
    default_frameskip = DEFAULT_FRAMESKIP if env_frameskip is None else int(env_frameskip)
    frameskip = _resolve(cfg.eval.frameskip, window.frameskip if window else None, default_frameskip, "frameskip")
    context = cfg.eval.context_frames if cfg.eval.context_frames is not None else (window.context if window else 1)
    encoder = world_model.encoder if world_model is not None else FrozenEncoder.from_config(cfg.encoder, device=device)
    model: EvalModel = world_model if kind == "checkpoint" else OracleModel(
        env_id=env.id, env_kwargs=env.kwargs, encoder=encoder,
        frameskip=frameskip, device=device)
    return EvalSetup(model=model, frameskip=frameskip, context_frames=int(context),
                     encoder_identity=encoder.identity(), checkpoint_meta=meta)


def build_eval_planner(cfg: DictConfig, env: EnvInfo, frameskip: int, device: torch.device) -> tuple[Planner, dict]:
    """The configured planner (or the random one) over env bounds tiled ``frameskip`` times, and its record."""
    low, high = np.tile(env.action_low, frameskip), np.tile(env.action_high, frameskip)  # (A,)
    settings = OmegaConf.to_container(cfg.planner, resolve=True)
    if cfg.eval.model == "random":
        planner = RandomPlanner(horizon=settings["horizon"], action_low=low, action_high=high, seed=cfg.seed,
                                device=device)
        settings = {"name": "random", "horizon": settings["horizon"]}
    else:
        planner = build_planner(**settings, action_low=low, action_high=high, seed=cfg.seed, device=device)
        if planner.needs_gradients and cfg.eval.model == "oracle":
            raise ValueError(f"planner={settings['name']} descends gradients through the model, and the oracle "
                             "(a simulator that renders frames) has none: use a sampling planner (cem, mppi, icem)")
    budget = {"num_samples": planner.num_samples, "iterations": planner.iterations, "horizon": planner.horizon}
    record = {**settings, "budget": budget, "budget_text": "{num_samples}x{iterations}x{horizon}".format(**budget),
              "evaluations_per_plan": planner.evaluations_per_plan, "seed": cfg.seed}
    return planner, record


def eval_name(cfg: DictConfig, planner_name: str) -> str:
    """``eval.name``, or ``<checkpoint dir name | oracle | random>-<planner>``."""
    if cfg.eval.name:
        return str(cfg.eval.name)
    if cfg.eval.model == "random":
        return "random"
    label = Path(cfg.eval.checkpoint).name if cfg.eval.model == "checkpoint" else "oracle"
    return f"{label}-{planner_name}"


def eval_dir(cfg: DictConfig) -> Path:
    """``${workdir}/eval/<eval_name>``: where the evaluation ``cfg`` describes writes its outputs."""
    return Path(cfg.workdir) / "eval" / eval_name(cfg, str(cfg.planner.name))


def check_output(cfg: DictConfig) -> None:
    """Refuse to replace a finished evaluation (its ``summary.json``) unless ``eval.overwrite``."""
    out = eval_dir(cfg)
    if (out / SUMMARY_FILE).exists() and not cfg.eval.overwrite:
        raise ValueError(f"{out} already holds an evaluation ({SUMMARY_FILE}); name this one eval.name=<other> "
                         f"or replace that one with eval.overwrite=true")


def validate_plan_config(cfg: DictConfig) -> None:
    """Every check of ``cfg`` that needs no env, model or encoder, so a bad setting fails at once.

    Raises:
        ValueError: a bad ``eval.model``, frameskip or goal setting, or an existing evaluation of that name.
        FileNotFoundError, CheckpointError: ``eval.checkpoint`` is not a checkpoint, or ``eval.decoder`` not a
            decoder (only their meta.json is read).
    """
    check_model_choice(cfg)
    check_frameskips(cfg)
    check_goal_source(cfg.eval.goal_source, int(cfg.eval.goal_offset), goal_params(cfg))
    if cfg.eval.checkpoint:
        read_checkpoint_meta(cfg.eval.checkpoint)
    if cfg.eval.decoder:
        read_decoder_meta(cfg.eval.decoder)
    check_output(cfg)


def note_goal_offset(cfg: DictConfig) -> None:
    """Log when ``eval.goal_offset`` differs from the env config's own (``preset=tiny`` sets 5)."""
    own = cfg.env.get("goal_offset")
    if own is not None and int(cfg.eval.goal_offset) != int(own):
        logger.info("goals are %d env steps from the start (eval.goal_offset), not the %d of env.goal_offset "
                    "(env config %s)", cfg.eval.goal_offset, own, cfg.env.name)


def goal_params(cfg: DictConfig) -> dict[str, Any]:
    """The goal source's parameters (``cfg.goal``, configs/goal/default.yaml); none for random_walk."""
    if cfg.eval.goal_source == "random_walk" or cfg.get("goal") is None:
        return {}
    return OmegaConf.to_container(cfg.goal, resolve=True)


def cost_settings(cfg: DictConfig) -> dict[str, Any]:
    """The cost's keyword arguments (``worldplan.costs.latent_goal_cost``) from ``cfg.eval``: run and recorded."""
    return {"metric": cfg.eval.metric, "steps": cfg.eval.steps, "proprio_weight": float(cfg.eval.proprio_weight)}


def protocol_record(cfg: DictConfig, env: EnvInfo, setup: EvalSetup, planner: dict, seeds: list[int]) -> dict:
    """Everything that defines the evaluation, saved with every result."""
    ev, train = cfg.eval, (setup.checkpoint_meta or {}).get("train") or {}
    return {
        "env": {"id": env.id, "kwargs": env.kwargs, "fps": env.fps, "success_threshold": env.success_threshold,
                "success_source": env.success_source},
        "goals": {"source": ev.goal_source, "offset": ev.goal_offset, "params": goal_params(cfg), "base_seed": cfg.seed,
                  "episode_seeds": seeds, "solved_at_start": "resampled (task seeds in episodes.jsonl)"},
        "episodes": len(seeds), "batch_size": ev.batch_size, "planner": planner,
        "frameskip": setup.frameskip, "replan_every": ev.replan_every, "max_env_steps": ev.max_env_steps,
        "context_frames": setup.context_frames, "cost": cost_settings(cfg),
        "model": {"kind": ev.model, "checkpoint": None if not ev.checkpoint else checkpoint_record(str(ev.checkpoint)),
                  "init": train.get("init"), "train_episodes": len(train.get("train_episodes") or []) or None,
                  "checkpoint_meta": setup.checkpoint_meta},
        "encoder": setup.encoder_identity, "device": cfg.device, "worldplan_version": worldplan.__version__,
        "git_commit": git_commit(),
    }


def plan_from_config(cfg: DictConfig) -> tuple[dict[str, Any], Path]:
    """Run the evaluation ``cfg`` describes; return its summary and output directory."""
    validate_plan_config(cfg)
    note_goal_offset(cfg)
    ev, device = cfg.eval, resolve_device(cfg.device)
    env = probe_env(*resolve_env(cfg.env))
    setup = load_eval_model(cfg, env, device)
    planner, planner_record = build_eval_planner(cfg, env, setup.frameskip, device)
    imagined = None if ev.video_episodes <= 0 else imagined_source(
        decoder=ev.decoder, neighbours=ev.neighbours, checkpoint_meta=setup.checkpoint_meta,
        encoder_identity=setup.encoder_identity, device=device)
    seeds = [eval_episode_seed(cfg.seed, i) for i in range(ev.episodes)]
    protocol = protocol_record(cfg, env, setup, planner_record, seeds)
    out = eval_dir(cfg)
    loop = {"frameskip": setup.frameskip, "max_env_steps": ev.max_env_steps, "replan_every": ev.replan_every,
            "context_frames": setup.context_frames, "cost_kwargs": cost_settings(cfg),
            "imagine": imagined is not None}
    try:
        results = evaluate_episodes(env_id=env.id, env_kwargs=env.kwargs, seeds=seeds, goal_source=ev.goal_source,
                                    goal_offset=ev.goal_offset, planner=planner, model=setup.model,
                                    batch_size=ev.batch_size, loop_kwargs=loop, video_episodes=ev.video_episodes,
                                    device=device, goal_params=goal_params(cfg))
    finally:
        if isinstance(setup.model, OracleModel):
            setup.model.close()
    if (out / VIDEOS_DIR).is_dir():  # eval.overwrite=true (check_output): no video of the replaced evaluation stays
        shutil.rmtree(out / VIDEOS_DIR)
    summary = save_evaluation(out, results, protocol, video_episodes=ev.video_episodes, fps=env.fps,
                              title=f"{planner_record['name']} {planner_record['budget_text']}", imagined=imagined)
    save_config(cfg, out)
    return {"name": out.name, **summary}, out


def checkpoint_record(checkpoint: str) -> str:
    """What a protocol records of ``eval.checkpoint``: a hub reference as given, a path made absolute."""
    return checkpoint if is_hub_ref(checkpoint) else str(Path(checkpoint).resolve())
