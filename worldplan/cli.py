"""The `worldplan` command: one entry point, one Hydra config per subcommand.

Usage: ``worldplan <subcommand> [hydra overrides...]``, for example
``worldplan collect env=wall data.episodes=100 preset=tiny``.
``worldplan <subcommand> --cfg`` prints the composed config and exits.
"""

from __future__ import annotations

import importlib
import logging
import sys

from omegaconf import DictConfig, OmegaConf

from worldplan.config import compose

# subcommand -> (module with `run(cfg)`, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "collect": ("worldplan.commands.collect", "collect an offline episode dataset from an env"),
    "datasets": ("worldplan.commands.datasets", "validate and summarise an episode dataset (path=<dir>)"),
    "envs": ("worldplan.commands.envs", "list the worldplan envs and the configured one, with goal and success"),
    "import": ("worldplan.commands.import_data", "import a Minari / LeRobot v3 dataset (or check a videos folder)"),
    "export": ("worldplan.commands.export_data", "export an episode dataset to Minari or LeRobot v3"),
    "demo": ("worldplan.commands.demo", "collect -> pretrain -> finetune -> plan on Wall, in minutes on a CPU"),
    "plan": ("worldplan.commands.plan", "evaluate a checkpoint (or eval.model=oracle|random) by MPC on an env"),
    "encode": ("worldplan.commands.encode", "encode the feature cache of a dataset or video folder (path=<dir>)"),
    "pretrain": ("worldplan.commands.pretrain", "action-free next-frame pretraining on train.pretrain.sources"),
    "finetune": ("worldplan.commands.finetune", "action-conditioned fine-tuning (train.init=pretrained|scratch)"),
    "benchmark": ("worldplan.commands.benchmark", "envs x planners x pretrained/scratch x data sizes x seeds"),
    "report": ("worldplan.commands.report", "data-efficiency tables and figures from a benchmark's JSONL (path=<dir>)"),
}

# Config choices a subcommand implies unless the user makes them (or picks a preset that does).
IMPLIED_CHOICES: dict[str, tuple[str, ...]] = {"demo": ("benchmark=demo",)}


def _with_implied_choices(name: str, overrides: list[str]) -> list[str]:
    implied = [choice for choice in IMPLIED_CHOICES.get(name, ())
               if not any(o.startswith((choice.split("=")[0] + "=", "preset=")) for o in overrides)]
    return implied + overrides


def _usage() -> str:
    lines = ["usage: worldplan <subcommand> [key=value ...] [--cfg]", "", "subcommands:"]
    lines += [f"  {name:<12} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, compose the subcommand's config and run it. Returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, overrides = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"worldplan: unknown subcommand {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    show_cfg = "--cfg" in overrides
    overrides = _with_implied_choices(name, [o for o in overrides if o != "--cfg"])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg: DictConfig = compose("config", overrides)
    except Exception as err:  # Hydra raises several types for bad overrides; report them all plainly.
        print(f"worldplan {name}: bad configuration: {err}", file=sys.stderr)
        return 2
    if show_cfg:
        print(OmegaConf.to_yaml(cfg))
        return 0
    module = importlib.import_module(COMMANDS[name][0])
    try:
        module.run(cfg)
    except (ValueError, FileNotFoundError, FileExistsError, KeyError) as err:
        print(f"worldplan {name}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
