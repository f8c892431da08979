"""User code named by a relative ``file.py:Class`` path is recorded by absolute path: datasets work from any
directory, and a checkpoint of one user env is refused on another env of the same relative name."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from user_envs import USER

from worldplan.byo import resolve_env
from worldplan.byo.factory import env_identity
from worldplan.data.collect import collect
from worldplan.data.episodes import EpisodeDataset
from worldplan.envs import make_env
from worldplan.evaluate.plan import check_checkpoint, probe_env

RELATIVE = "point2d.py:Point2D"
IMAGE_SIZE = 16


def _user_project(root: Path, start_range: float) -> Path:
    """A folder holding ``point2d.py`` whose ``Point2D`` starts in [-start_range, start_range]."""
    root.mkdir()
    (root / "point2d.py").write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('user_envs_copy', {USER!r})\n"
        "user_envs = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(user_envs)\n\n\n"
        "class Point2D(user_envs.SettableSlide):\n"
        "    def __init__(self, render_mode=None):\n"
        f"        super().__init__(render_mode=render_mode, start_range={start_range})\n")
    return root


def _collect_in(project: Path, out: Path, monkeypatch) -> EpisodeDataset:
    monkeypatch.chdir(project)
    return collect(*resolve_env({"id": RELATIVE, "image_size": IMAGE_SIZE}), out, episodes=1, steps=2,
                   policy="random", seed=0, noise=0.0, progress=False)


def test_a_dataset_of_a_relative_user_env_is_usable_from_another_directory(tmp_path, monkeypatch):
    project = _user_project(tmp_path / "project", 0.5)
    dataset = _collect_in(project, tmp_path / "ds", monkeypatch)
    assert dataset.meta.env_kwargs["env"] == f"{project / 'point2d.py'}:Point2D"
    monkeypatch.chdir(tmp_path)
    env = make_env(dataset.meta.env_id, dataset.meta.env_kwargs).unwrapped
    episode = EpisodeDataset.open(tmp_path / "ds")[0]
    env.reset(seed=0)
    env.set_state(episode.states[1])
    np.testing.assert_array_equal(env.render(), episode.frames[1])
    configured = resolve_env({"id": f"project/{RELATIVE}", "image_size": IMAGE_SIZE})
    assert env_identity(*configured) == env_identity(dataset.meta.env_id, dataset.meta.env_kwargs)


@pytest.mark.parametrize("record", ["env", "dataset"])
def test_a_checkpoint_of_one_user_env_is_refused_on_another_of_the_same_relative_name(tmp_path, monkeypatch,
                                                                                        record):
    dataset = _collect_in(_user_project(tmp_path / "a", 0.5), tmp_path / "ds", monkeypatch)
    meta = dataset.meta
    train = ({"env_id": meta.env_id, "env_kwargs": meta.env_kwargs} if record == "env"
             else {"dataset": str(dataset.path)})
    monkeypatch.chdir(_user_project(tmp_path / "b", 0.9))
    env_id, kwargs = resolve_env({"id": RELATIVE, "image_size": IMAGE_SIZE})
    model = SimpleNamespace(encoder=object(), action_dim=1, predictor=SimpleNamespace(arch={"proprio_dim": 0}),
                            frame_size=IMAGE_SIZE, window=SimpleNamespace(frameskip=1))
    with pytest.raises(ValueError, match=f"was trained on .*{tmp_path / 'a'}.* but the env is .*{tmp_path / 'b'}"):
        check_checkpoint(model, {"train": train}, env_id, probe_env(env_id, kwargs), "ckpt")
