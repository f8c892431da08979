"""How ``worldplan`` ends on errors: one line and an exit code, the traceback only when debugging."""

from __future__ import annotations

import sys

import pytest

from worldplan.cli import main
from worldplan.cli_help import COMMANDS, Subcommand

FAILING = '''
def run(cfg):
    raise {error}
'''


@pytest.fixture
def failing(tmp_path, monkeypatch):
    """Register subcommand ``fail`` whose ``run`` raises the exception given as source text."""
    def register(error: str) -> str:
        (tmp_path / "failing_command.py").write_text(FAILING.format(error=error))
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.delitem(sys.modules, "failing_command", raising=False)  # a previous test's version
        monkeypatch.setitem(COMMANDS, "fail", Subcommand("failing_command", "fails", ("seed",), "worldplan fail"))
        return "fail"
    monkeypatch.delenv("WORLDPLAN_DEBUG", raising=False)
    return register


def test_a_library_error_ends_as_one_line_and_exit_1(failing, capsys):
    assert main([failing("RuntimeError('the model diverged')")]) == 1
    err = capsys.readouterr().err
    assert err == "worldplan fail: error: RuntimeError: the model diverged (rerun with --debug for the traceback)\n"


def test_a_user_error_keeps_its_own_message(failing, capsys):
    assert main([failing("ValueError('set eval.checkpoint=<dir>')")]) == 1
    assert capsys.readouterr().err == "worldplan fail: error: set eval.checkpoint=<dir>\n"


@pytest.mark.parametrize("debug", ["flag", "environment"])
def test_debug_shows_the_traceback(failing, capsys, monkeypatch, debug):
    name = failing("RuntimeError('the model diverged')")
    if debug == "environment":
        monkeypatch.setenv("WORLDPLAN_DEBUG", "1")
    assert main([name, "--debug"] if debug == "flag" else [name]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "failing_command.py" in err
    assert err.endswith("worldplan fail: error: RuntimeError: the model diverged\n")


def test_an_interrupt_exits_130_with_a_short_message(failing, capsys):
    assert main([failing("KeyboardInterrupt()")]) == 130
    assert capsys.readouterr().err == "worldplan fail: interrupted\n"


def test_a_bad_configuration_exits_2(capsys):
    assert main(["envs", "env=nope"]) == 2
    assert capsys.readouterr().err.startswith("worldplan envs: error: bad configuration: In 'config': Could not find")
