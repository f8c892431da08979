"""What ``worldplan --help`` and ``worldplan <subcommand> --help`` print.

Each subcommand's description is its module's docstring (read without importing the module, so help
stays fast); this table adds the one-line summary, the config keys it reads and an example.
"""

from __future__ import annotations

import ast
import importlib.util
import textwrap
from dataclasses import dataclass
from pathlib import Path

OPTIONS = "[key=value ...] [--cfg [job]] [--debug] [-h]"


@dataclass(frozen=True)
class Subcommand:
    """One ``worldplan`` subcommand: the module with its ``run(cfg)``, a summary, keys read, an example."""

    module: str
    summary: str
    reads: tuple[str, ...]  # config groups and keys (dotted), all present in the composed config
    example: str


COMMANDS: dict[str, Subcommand] = {
    "collect": Subcommand("worldplan.commands.collect", "collect an offline episode dataset from an env",
                          ("env", "data.out", "data.episodes", "data.steps", "data.policy", "data.noise",
                           "data.video_episodes", "seed"),
                          "worldplan collect env=wall data.episodes=100 data.steps=50"),
    "datasets": Subcommand("worldplan.commands.datasets", "validate and summarise an episode dataset (path=<dir>)",
                           ("path", "data.video_episodes"), "worldplan datasets path=runs/wall/data/train"),
    "envs": Subcommand("worldplan.commands.envs",
                       "list the worldplan envs and the configured one, with goal and success", ("env",),
                       "worldplan envs env=gym env.id=Pendulum-v1"),
    "import": Subcommand("worldplan.commands.import_data",
                         "import a Minari / LeRobot v3 dataset (or check a videos folder)",
                         ("convert.format", "convert.src", "convert.out", "convert.image_size",
                          "convert.render_env", "env", "encoder.image_size"),
                         "worldplan import convert.format=minari convert.src=<dataset id> convert.out=<dir>"),
    "export": Subcommand("worldplan.commands.export_data", "export an episode dataset to Minari or LeRobot v3",
                         ("convert.format", "convert.src", "convert.out", "convert.last_frame", "convert.lossless"),
                         "worldplan export convert.format=lerobot convert.src=runs/wall/data/train convert.out=<dir>"),
    "demo": Subcommand("worldplan.commands.demo",
                       "collect -> pretrain -> finetune -> plan on Wall, in minutes on a CPU",
                       ("benchmark", "benchmark.out", "benchmark.envs", "benchmark.planners", "benchmark.sizes"),
                       "worldplan demo"),
    "plan": Subcommand("worldplan.commands.plan",
                       "evaluate a checkpoint (or eval.model=oracle|random) by MPC on an env",
                       ("eval", "eval.model", "eval.checkpoint", "eval.episodes", "eval.name", "eval.overwrite", "env",
                        "planner", "encoder", "seed", "device", "workdir"),
                       "worldplan plan env=wall eval.checkpoint=runs/wall/checkpoints/finetune-pretrained "
                       "planner=mppi"),
    "encode": Subcommand("worldplan.commands.encode",
                         "encode the feature cache of a dataset or video folder (path=<dir>)",
                         ("path", "train.finetune.dataset", "train.pretrain.sources", "train.encode_batch_size",
                          "encoder", "device"),
                         "worldplan encode path=runs/wall/data/train"),
    "pretrain": Subcommand("worldplan.commands.pretrain",
                           "action-free next-frame pretraining on train.pretrain.sources",
                           ("train", "train.pretrain.sources", "train.pretrain.out", "train.steps", "encoder",
                            "predictor", "device", "seed"),
                           "worldplan pretrain env=wall train.steps=2000"),
    "finetune": Subcommand("worldplan.commands.finetune",
                           "action-conditioned fine-tuning (train.init=pretrained|scratch)",
                           ("train", "train.init", "train.mode", "train.finetune.dataset", "train.finetune.episodes",
                            "train.finetune.out", "encoder", "predictor", "device", "seed"),
                           "worldplan finetune env=wall train.init=scratch train.finetune.episodes=50"),
    "decoder": Subcommand("worldplan.commands.decoder",
                          "train the viewing-only pixel decoder for imagined-rollout videos",
                          ("decoder", "decoder.dataset", "decoder.out", "decoder.steps", "encoder",
                           "train.encode_batch_size", "train.progress", "device", "seed"),
                          "worldplan decoder env=wall decoder.steps=300"),
    "benchmark": Subcommand("worldplan.commands.benchmark",
                            "envs x planners x pretrained/scratch x data sizes x seeds",
                            ("benchmark", "benchmark.envs", "benchmark.planners", "benchmark.sizes",
                             "benchmark.seeds", "benchmark.out"),
                            "worldplan benchmark benchmark=cpu"),
    "report": Subcommand("worldplan.commands.report",
                         "one table of every evaluation under path=<dir>, or a benchmark's data-efficiency "
                         "tables and figures", ("path",),
                         "worldplan report path=runs"),
}


def usage() -> str:
    """The top-level help: the usage line and every subcommand with its summary."""
    lines = [f"usage: worldplan <subcommand> {OPTIONS}", "", "subcommands:"]
    lines += [f"  {name:<12} {command.summary}" for name, command in COMMANDS.items()]
    lines += ["", "worldplan <subcommand> -h: what it does, the config keys it reads, an example"]
    return "\n".join(lines)


def module_docstring(module: str) -> str:
    """The docstring of ``module``, read from its source file without importing it ("" if none)."""
    spec = importlib.util.find_spec(module)
    source = Path(spec.origin).read_text(encoding="utf-8")
    return ast.get_docstring(ast.parse(source)) or ""


def subcommand_help(name: str) -> str:
    """``worldplan <name> -h``: usage, summary, the module's description, keys read, an example."""
    command = COMMANDS[name]
    reads = textwrap.fill(", ".join(command.reads), width=96, initial_indent="  ", subsequent_indent="  ")
    return "\n".join([
        f"usage: worldplan {name} {OPTIONS}", "", command.summary, "",
        module_docstring(command.module).replace("``", "`"), "",
        "config keys it reads (set any with key=value; --cfg job prints their values):", reads, "",
        f"example: {command.example}",
    ])
