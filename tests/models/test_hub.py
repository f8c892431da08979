"""Checkpoints by hub reference (hf://user/repo[@revision][/subdir]), offline against a fake local hub cache."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from model_fixtures import tiny_world_model

from worldplan.models import load_world_model, read_checkpoint_meta, save_checkpoint, upload_checkpoint
from worldplan.models.hub import HubRef

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture()
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face hub cache in ``tmp_path``, offline."""
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def cache_checkpoint(cache: Path, checkpoint: Path, *, repo: str, ref: str = "main", subdir: str = "") -> None:
    """Lay ``checkpoint`` out in ``cache`` as huggingface_hub does: a snapshot per commit and ``refs/<ref>``."""
    storage = cache / f"models--{repo.replace('/', '--')}"
    shutil.copytree(checkpoint, storage / "snapshots" / COMMIT / subdir)
    (storage / "refs").mkdir(parents=True)
    (storage / "refs" / ref).write_text(COMMIT)


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    theirs = b.state_dict()
    assert a.state_dict().keys() == theirs.keys()
    assert all(torch.equal(v, theirs[k]) for k, v in a.state_dict().items())


def test_a_cached_hub_checkpoint_loads_offline_as_the_saved_model(hub_cache: Path, tmp_path: Path) -> None:
    model = tiny_world_model(encoder=True)
    cache_checkpoint(hub_cache, save_checkpoint(tmp_path / "ckpt", model, meta={}), repo="user/repo")
    assert_same_weights(model, load_world_model("hf://user/repo"))


def test_a_revision_and_a_subfolder_select_the_checkpoint(hub_cache: Path, tmp_path: Path) -> None:
    model = tiny_world_model(encoder=True)
    path = save_checkpoint(tmp_path / "ckpt", model, meta={"train": {"steps": 7}})
    cache_checkpoint(hub_cache, path, repo="user/repo", ref="v1", subdir="finetune-pretrained")
    assert read_checkpoint_meta("hf://user/repo@v1/finetune-pretrained")["train"] == {"steps": 7}
    assert_same_weights(model, load_world_model("hf://user/repo@v1/finetune-pretrained"))
    with pytest.raises(FileNotFoundError, match="has no folder 'other'"):
        read_checkpoint_meta("hf://user/repo@v1/other")


def test_a_repo_missing_offline_names_the_id_and_the_local_cache(hub_cache: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"hf://user/missing: repo user/missing .* not in the local "
                                                r"Hugging Face cache .* HF_HUB_OFFLINE is set"):
        load_world_model("hf://user/missing")


@pytest.mark.parametrize(("ref", "expected"), [
    ("hf://user/repo", HubRef("user/repo", None, "")),
    ("hf://user/repo@v1", HubRef("user/repo", "v1", "")),
    ("hf://user/repo@v1/runs/finetune/", HubRef("user/repo", "v1", "runs/finetune")),
    ("hf://user/repo/finetune", HubRef("user/repo", None, "finetune")),
])
def test_hub_references_parse_into_repo_revision_and_folder(ref: str, expected: HubRef) -> None:
    assert HubRef.parse(ref) == expected


@pytest.mark.parametrize("ref", ["hf://user", "hf://user/", "hf://user/repo@", "user/repo"])
def test_a_malformed_hub_reference_shows_the_form(ref: str) -> None:
    with pytest.raises(ValueError, match=r"hf://<user>/<repo>\[@<revision>\]\[/<subdir>\]"):
        HubRef.parse(ref)


def test_upload_sends_the_checkpoint_files_to_the_named_folder_and_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, dict]] = []

    class FakeApi:
        def create_repo(self, repo_id: str, **kwargs) -> None:
            calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

        def create_branch(self, repo_id: str, **kwargs) -> None:
            calls.append(("create_branch", {"repo_id": repo_id, **kwargs}))

        def upload_folder(self, **kwargs) -> SimpleNamespace:
            calls.append(("upload_folder", kwargs))
            return SimpleNamespace(commit_url="https://hub/commit/1")

    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    path = save_checkpoint(tmp_path / "ckpt", tiny_world_model(encoder=True), meta={})
    assert upload_checkpoint(path, "hf://me/wall@v1/finetune") == "https://hub/commit/1"
    assert [name for name, _ in calls] == ["create_repo", "create_branch", "upload_folder"]
    upload = calls[-1][1]
    assert upload["repo_id"] == "me/wall" and upload["path_in_repo"] == "finetune" and upload["revision"] == "v1"
    assert set(upload["allow_patterns"]) >= {"model.safetensors", "meta.json"}
