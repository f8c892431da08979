"""The `worldplan` command: one entry point, one Hydra config per subcommand.

Usage: ``worldplan <subcommand> [key=value ...] [--cfg [job]] [--debug] [-h]``, for example
``worldplan collect env=wall data.episodes=100 preset=tiny``. ``worldplan <subcommand> -h`` says
what the subcommand does, the config keys it reads and an example; ``--cfg`` prints the composed
config and exits; ``--debug`` (or ``WORLDPLAN_DEBUG=1``) shows the traceback of an error.

Exit codes: 0 done, 1 the run failed, 2 bad command line or configuration, 130 interrupted.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf

from worldplan.byo.env_choice import with_env_choice
from worldplan.cli_help import COMMANDS, subcommand_help, usage
from worldplan.config import compose

# Config choices a subcommand implies unless the user makes them (or picks a preset that does).
IMPLIED_CHOICES: dict[str, tuple[str, ...]] = {"demo": ("benchmark=demo",)}
# Errors whose message is written for the user; any other type is named in front of its message.
USER_ERRORS = (ValueError, OSError, KeyError)
HELP_FLAGS = ("-h", "--help")


class UsageError(ValueError):
    """A command-line option worldplan does not know."""


@dataclass(frozen=True)
class CliArgs:
    """A subcommand's command line: its options and its Hydra overrides."""

    overrides: list[str]
    help: bool = False
    show_cfg: bool = False
    debug: bool = False


QUIET_LOGGERS = ("OpenGL", "absl")  # third-party loggers shown from WARNING up

def parse_args(args: list[str]) -> CliArgs:
    """Split ``args`` (after the subcommand) into options and ``key=value`` overrides.

    ``--cfg`` takes an optional ``job`` (Hydra's spelling) and prints the composed config.

    Raises:
        UsageError: an option other than ``-h``/``--help``, ``--cfg [job]`` and ``--debug``.
    """
    overrides, flags = [], set()
    for i, arg in enumerate(args):
        if arg == "job" and i > 0 and args[i - 1] == "--cfg":
            continue
        if arg in (*HELP_FLAGS, "--cfg", "--debug"):
            flags.add("--help" if arg in HELP_FLAGS else arg)
        elif arg.startswith("-"):
            raise UsageError(f"unknown option {arg!r}: the options are -h/--help, --cfg [job] and --debug; "
                             "everything else is key=value")
        else:
            overrides.append(arg)
    return CliArgs(overrides=overrides, help="--help" in flags, show_cfg="--cfg" in flags, debug="--debug" in flags)


def _with_implied_choices(name: str, overrides: list[str]) -> list[str]:
    """``overrides`` preceded by the config choices ``name`` implies and the user did not make."""
    implied = [choice for choice in IMPLIED_CHOICES.get(name, ())
               if not any(o.startswith((choice.split("=")[0] + "=", "preset=")) for o in overrides)]
    return implied + overrides


def _describe(err: BaseException) -> str:
    """The error's message, led by its type unless it is a user-facing error with a message."""
    message = str(err)
    if isinstance(err, USER_ERRORS) and message:
        return message
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def _fail(name: str, err: Exception, code: int, debug: bool, what: str = "error") -> int:
    """Print ``worldplan <name>: <what>: <message>`` (after the traceback with ``debug``); return ``code``."""
    hint = ""
    if debug:
        traceback.print_exception(err)
    elif not isinstance(err, USER_ERRORS):
        hint = " (rerun with --debug for the traceback)"
    print(f"worldplan {name}: {what}: {_describe(err)}{hint}", file=sys.stderr)
    return code


def _run(name: str, args: CliArgs) -> int:
    """Compose ``name``'s config from ``args`` and run it (or print it); return the exit code."""
    debug = args.debug or os.environ.get("WORLDPLAN_DEBUG") == "1"
    try:
        cfg: DictConfig = compose("config", with_env_choice(_with_implied_choices(name, args.overrides)))
    except Exception as err:  # Hydra raises several types for bad overrides; report them all plainly.
        return _fail(name, err, 2, debug, what="error: bad configuration")
    if args.show_cfg:
        print(OmegaConf.to_yaml(cfg))
        return 0
    try:
        importlib.import_module(COMMANDS[name].module).run(cfg)
    except Exception as err:  # anything the library raises ends as one line, not a traceback
        return _fail(name, err, 1, debug)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, compose the subcommand's config and run it. Returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in (*HELP_FLAGS, "help"):
        print(usage())
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(f"worldplan: unknown subcommand {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    try:
        args = parse_args(argv[1:])
    except UsageError as err:
        print(f"worldplan {name}: error: {err}", file=sys.stderr)
        return 2
    if args.help:
        print(subcommand_help(name))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in QUIET_LOGGERS:  # their INFO lines (which GL backend, which MuJoCo) are not the user's business
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return _run(name, args)
    except KeyboardInterrupt:
        print(f"worldplan {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
