"""Load user code named in a config: ``"package.module:name"`` or ``"path/to/file.py:name"``.

A file path (anything ending in ``.py`` before the colon) is imported from that file, relative to the
working directory, so a tutorial or a user project can keep its env, state function or success
function next to its data without installing a package. What is recorded (``absolute_reference``)
is the absolute path and the name, so a dataset or checkpoint names the same code from any directory.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def split_reference(reference: str) -> tuple[str, str]:
    """``"module:name"`` -> ``("module", "name")``; raises ValueError naming the expected form."""
    module, sep, name = str(reference).rpartition(":")
    if not sep or not module or not name:
        raise ValueError(f"{reference!r} is not a reference to user code: write 'package.module:name' or "
                         f"'path/to/file.py:name'")
    return module, name


def absolute_reference(reference: str) -> str:
    """``reference`` with a ``.py`` file path made absolute (from the working directory), so that datasets
    and checkpoints that record it name the same code from anywhere; any other reference unchanged."""
    module, sep, name = str(reference).rpartition(":")
    if not sep or not module.endswith(".py"):
        return str(reference)
    return f"{Path(module).resolve()}:{name}"


def import_module(module: str) -> ModuleType:
    """Import ``module``: a dotted module name, or a ``.py`` file path (cached, imported once).

    Raises:
        ValueError: the module or file cannot be imported (the message says which and why).
    """
    if not module.endswith(".py"):
        try:
            return importlib.import_module(module)
        except ImportError as err:
            raise ValueError(f"cannot import module {module!r} ({err}); is it installed or on PYTHONPATH? "
                             f"A file can be named by its path instead: 'path/to/file.py:name'") from err
    path = Path(module).resolve()
    if not path.is_file():
        raise ValueError(f"user code file {module} not found (looked for {path})")
    name = f"worldplan_user_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except Exception:
        del sys.modules[name]
        raise
    return loaded


def load_object(reference: str, *, what: str) -> Any:
    """The object ``reference`` names (``"module:name"`` or ``"file.py:name"``).

    Args:
        reference: where the object lives.
        what: what it is for, used in error messages (e.g. ``"success function"``).

    Raises:
        ValueError: bad reference, module that does not import, or a missing name.
    """
    module_name, name = split_reference(reference)
    module = import_module(module_name)
    if not hasattr(module, name):
        raise ValueError(f"{what} {reference!r}: module {module_name!r} has no attribute {name!r}")
    return getattr(module, name)


def load_callable(reference: str, *, what: str) -> Any:
    """Like ``load_object``, and the object must be callable."""
    obj = load_object(reference, what=what)
    if not callable(obj):
        raise ValueError(f"{what} {reference!r} is a {type(obj).__name__}, not a callable")
    return obj
