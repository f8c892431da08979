"""The Hugging Face hub: its local cache, offline mode, and checkpoints shared as hub repositories.

A hub reference ``hf://<user>/<repo>[@<revision>][/<subdir>]`` names a folder of a model repository
(its root without ``subdir``) at a branch, tag or commit (``main`` without ``revision``). Fetching
one goes through ``huggingface_hub.snapshot_download`` into the local Hugging Face cache, asking
only for the files the caller names; offline (``HF_HUB_OFFLINE=1``, or the hub unreachable) it
reads the cache alone and fails with a message naming the reference. Environment variables are
read at call time (``huggingface_hub.constants`` reads them once, at import).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["HUB_PREFIX", "HubRef", "fetch_folder", "hf_cache_dir", "hub_offline", "hub_reachable", "is_hub_ref",
           "upload_folder"]

HUB_PREFIX = "hf://"
DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "ON", "YES", "TRUE"}


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, honouring ``HF_HUB_CACHE`` and ``HF_HOME`` at call time."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return Path(home) / "hub"


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set to a true value (1, on, yes, true)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.upper() in _TRUE


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether a TCP connection to the hub (``HF_ENDPOINT``) opens within ``timeout`` seconds, DNS included."""
    url = urlparse(os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT)
    address = (url.hostname or "", url.port or (80 if url.scheme == "http" else 443))
    opened: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection(address, timeout=timeout).close()
            opened.append(True)
        except OSError:
            opened.append(False)

    thread = threading.Thread(target=probe, daemon=True)  # a hung DNS lookup ignores socket timeouts
    thread.start()
    thread.join(timeout)
    return bool(opened and opened[0])


def is_hub_ref(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a hub reference (``hf://...``) rather than a local path."""
    return str(path).startswith(HUB_PREFIX)


@dataclass(frozen=True)
class HubRef:
    """A parsed ``hf://<user>/<repo>[@<revision>][/<subdir>]``: ``revision`` None means ``main``, ``subdir``
    empty means the repository root."""

    repo_id: str
    revision: str | None
    subdir: str

    @classmethod
    def parse(cls, ref: str) -> HubRef:
        """Split a hub reference into its parts.

        Raises:
            ValueError: not of the form ``hf://<user>/<repo>[@<revision>][/<subdir>]``.
        """
        user, _, rest = str(ref).removeprefix(HUB_PREFIX).partition("/")
        repo_rev, _, subdir = rest.partition("/")
        repo, at, revision = repo_rev.partition("@")
        if not is_hub_ref(ref) or not user or not repo or (at and not revision):
            raise ValueError(f"{ref!r} is not a hub reference: write hf://<user>/<repo>[@<revision>][/<subdir>], "
                             "e.g. hf://me/wall-world-model@v1/finetune-pretrained")
        return cls(repo_id=f"{user}/{repo}", revision=revision or None, subdir=subdir.strip("/"))

    def in_repo(self, name: str) -> str:
        """The repository path of file ``name`` of this folder."""
        return f"{self.subdir}/{name}" if self.subdir else name


def fetch_folder(ref: str, files: Sequence[str]) -> Path:
    """The local folder of hub reference ``ref``, with ``files`` of it downloaded into the cache if missing.

    Raises:
        FileNotFoundError: offline and not in the local cache, no such (readable) repository or revision,
            or no such folder in it; the message names ``ref`` and the fix.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    hub, cache, offline = HubRef.parse(ref), hf_cache_dir(), hub_offline()
    try:
        root = snapshot_download(hub.repo_id, revision=hub.revision, allow_patterns=[hub.in_repo(f) for f in files],
                                 cache_dir=str(cache), local_files_only=offline)
    except LocalEntryNotFoundError as err:
        why = "HF_HUB_OFFLINE is set" if offline else "the hub could not be reached"
        raise FileNotFoundError(
            f"{ref}: repo {hub.repo_id} (revision {hub.revision or 'main'}) is not in the local Hugging Face cache "
            f"{cache} and {why}: download it where there is internet (huggingface-cli download {hub.repo_id}) and "
            "copy the cache here (HF_HUB_CACHE points at it), or go online") from err
    except RevisionNotFoundError as err:
        raise FileNotFoundError(f"{ref}: repo {hub.repo_id} has no revision {hub.revision!r}; "
                                "name an existing branch, tag or commit") from err
    except RepositoryNotFoundError as err:
        raise FileNotFoundError(f"{ref}: no repo {hub.repo_id} that you can read on the hub; check the id, "
                                "or `huggingface-cli login` for a private one") from err
    folder = Path(root) / hub.subdir
    if not folder.is_dir():
        raise FileNotFoundError(f"{ref}: repo {hub.repo_id} (revision {hub.revision or 'main'}) has no folder "
                                f"{hub.subdir!r} holding {', '.join(files)}")
    return folder


def upload_folder(folder: Path, ref: str, files: Sequence[str], *, private: bool | None = None) -> str:
    """Upload ``files`` of the local ``folder`` to hub reference ``ref`` (repository and branch created if
    needed); needs a token (``huggingface-cli login`` or ``HF_TOKEN``). Returns the commit's URL."""
    from huggingface_hub import HfApi

    hub, api = HubRef.parse(ref), HfApi()
    api.create_repo(hub.repo_id, private=private, exist_ok=True)
    if hub.revision:
        api.create_branch(hub.repo_id, branch=hub.revision, exist_ok=True)
    commit = api.upload_folder(repo_id=hub.repo_id, folder_path=str(folder), path_in_repo=hub.subdir or None,
                               revision=hub.revision, allow_patterns=list(files),
                               commit_message=f"worldplan checkpoint {folder.name}")
    return str(commit.commit_url)
