"""Build the user's env from its name and find how to read and set its state.

Names: a Gymnasium id (``Pendulum-v1``), ``module:id`` (the module registers the id), ``module:Class``
or ``path/to/file.py:Class`` (instantiated with ``render_mode="rgb_array"`` and the kwargs), or
``dmc:<domain>-<task>`` (a dm_control suite task, ``worldplan.byo.dmc``).

The state protocol: an env (or any wrapper around it) that defines ``get_state() -> (state_dim,)`` and
``set_state(state)`` can be put in any state, which the ``state`` and ``dataset`` goal sources, the
oracle and rendering of state-only datasets need. Gymnasium's MuJoCo envs are supported as they are
(state = qpos then qvel).

Render size: an env whose constructor takes ``width`` and ``height`` (Gymnasium's MuJoCo envs, which
render 480 x 480 by default) is made with both set to ``render_size`` (the adapter's image size), so it
renders frames of the size the model needs instead of rendering large ones to shrink them; ``width`` or
``height`` in the env kwargs take precedence.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import load_env_creator

from worldplan.byo.callables import import_module, split_reference
from worldplan.byo.dmc import PREFIX as DMC_PREFIX
from worldplan.byo.dmc import DmcEnv

StateGetter = Callable[[], np.ndarray]
StateSetter = Callable[[np.ndarray], None]

LATENT_THRESHOLD = "latent_threshold"  # success_source of envs that judge success by latent distance
STATE_PROTOCOL_HELP = ("define get_state() -> 1-D array and set_state(state) on the env, or on a gymnasium.Wrapper "
                       "around it that you name as env.id=module:Wrapper (see docs/tutorial-own-env.md)")


class StateNotSettableError(ValueError):
    """The env cannot be put in a given state, and something asked for it."""


def takes_render_size(creator: Any) -> bool:
    """Whether an env class takes ``width`` and ``height``: it names both, or it is a Gymnasium
    ``MujocoEnv`` that passes its keyword arguments on to ``MujocoEnv.__init__`` (which names them)."""
    if not isinstance(creator, type):
        return False
    parameters = inspect.signature(creator).parameters
    if "width" in parameters and "height" in parameters:
        return True
    passes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    return passes_kwargs and any(cls.__name__ == "MujocoEnv" for cls in creator.__mro__)


def _with_render_size(creator: Any, kwargs: dict[str, Any], render_size: int | None) -> dict[str, Any]:
    """``kwargs`` with ``width`` and ``height`` = ``render_size`` when the env takes them and neither is set."""
    if render_size is None or "width" in kwargs or "height" in kwargs or not takes_render_size(creator):
        return kwargs
    return {**kwargs, "width": render_size, "height": render_size}


def _from_reference(name: str, kwargs: dict[str, Any], render_size: int | None) -> gym.Env:
    """``module:Class`` -> an instance; ``module:id`` -> ``gym.make`` after importing the module."""
    module_name, attribute = split_reference(name)
    module = import_module(module_name)
    target = getattr(module, attribute, None)
    if target is None:
        if attribute in gym.registry:
            return _make_registered(attribute, kwargs, render_size)
        raise ValueError(f"env {name!r}: module {module_name!r} has no class {attribute!r} and registers no "
                         f"Gymnasium id {attribute!r}")
    if not (isinstance(target, type) and issubclass(target, gym.Env)):
        raise ValueError(f"env {name!r} is a {type(target).__name__}, not a gymnasium.Env subclass")
    return target(render_mode="rgb_array", **_with_render_size(target, kwargs, render_size))


def _make_registered(env_id: str, kwargs: dict[str, Any], render_size: int | None) -> gym.Env:
    """``gym.make`` without the registered time limit: worldplan's loops set their own step budgets."""
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as err:
        raise ValueError(f"unknown Gymnasium env id {env_id!r} ({err}); give a registered id, module:Class, "
                         f"path/to/file.py:Class or dmc:<domain>-<task>") from err
    creator = load_env_creator(spec.entry_point) if isinstance(spec.entry_point, str) else spec.entry_point
    return gym.make(dataclasses.replace(spec, max_episode_steps=None), render_mode="rgb_array",
                    **_with_render_size(creator, kwargs, render_size))


def make_inner_env(name: str, kwargs: Mapping[str, Any] | None = None, *, render_size: int | None = None) -> gym.Env:
    """Create the user's env, rendering ``rgb_array``.

    Args:
        name: see the module docstring.
        kwargs: keyword arguments of the env.
        render_size: passed as ``width`` and ``height`` to an env that takes them (see the module docstring).

    Raises:
        ValueError: unknown name, a module that does not import, or a class that is not a gym.Env.
    """
    # The user's env may render through MuJoCo's EGL; this module loads triton before EGL initialises
    # (a later triton import crashes Mesa's EGL driver: see its docstring).
    importlib.import_module("worldplan.envs.mujoco_base")
    kwargs = dict(kwargs or {})
    if kwargs.pop("render_mode", "rgb_array") != "rgb_array":
        raise ValueError("env kwargs set render_mode: worldplan always renders 'rgb_array'; remove it")
    if name.startswith(DMC_PREFIX):
        return DmcEnv(name, **kwargs)
    if ":" in name:
        return _from_reference(name, kwargs, render_size)
    return _make_registered(name, kwargs, render_size)


def first_frame(env: gym.Env, name: str) -> np.ndarray:
    """``env.render()`` as (H, W, 3) uint8 (RGBA drops alpha); raises ValueError naming what is wrong."""
    if "rgb_array" not in env.metadata.get("render_modes", []):
        raise ValueError(f"env {name!r} does not list 'rgb_array' in metadata['render_modes'] "
                         f"({env.metadata.get('render_modes')}); worldplan plans from pixels: support "
                         f"render_mode='rgb_array' and return an (H, W, 3) uint8 array from render()")
    frame = env.render()
    array = None if frame is None else np.asarray(frame)
    if array is None or array.ndim != 3 or array.shape[-1] not in (3, 4) or array.dtype != np.uint8:
        found = None if array is None else f"{array.dtype} {array.shape}"
        raise ValueError(f"env {name!r}: render() with render_mode='rgb_array' returned {found}; it must "
                         f"return an (H, W, 3) uint8 RGB array")
    return array[..., :3]


def _is_gym_mujoco(base: gym.Env) -> bool:
    return any(cls.__name__ == "MujocoEnv" for cls in type(base).__mro__) and hasattr(base, "data")


def find_state_protocol(env: gym.Env) -> tuple[StateGetter | None, StateSetter | None, str]:
    """The env's ``get_state``/``set_state`` (searched through its wrappers), and where they come from.

    Returns:
        (getter or None, setter or None, a description: ``"env.get_state()"``, ``"mujoco qpos+qvel"`` or
        ``"none"``). A setter is only returned together with a getter.
    """
    if env.has_wrapper_attr("get_state") and env.has_wrapper_attr("set_state"):
        getter, setter = env.get_wrapper_attr("get_state"), env.get_wrapper_attr("set_state")
        if callable(getter) and callable(setter):
            return getter, setter, "env.get_state()"
    base = env.unwrapped
    if _is_gym_mujoco(base):
        nq = base.model.nq

        def get_mujoco() -> np.ndarray:
            return np.concatenate([base.data.qpos, base.data.qvel]).astype(np.float32)

        def set_mujoco(state: np.ndarray) -> None:
            state = np.asarray(state, np.float64)
            base.set_state(state[:nq], state[nq:])

        return get_mujoco, set_mujoco, "mujoco qpos+qvel"
    return None, None, "none"
