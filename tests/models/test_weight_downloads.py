"""encoder.allow_download: auto downloads unless offline, true always tries, false never; the downloader is
replaced, so no test reaches the network."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from model_fixtures import tiny_encoder

from worldplan.models import weights
from worldplan.models.hub import hub_reachable
from worldplan.models.weights import WeightsNotFoundError, download_mode, locate_weights


@pytest.fixture()
def downloads(empty_caches: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace ``hf_hub_download`` by a fake that records each call and returns a file in ``empty_caches``."""
    calls: list[str] = []

    def fake_download(repo_id: str, filename: str, **kwargs) -> str:
        calls.append(repo_id)
        path = empty_caches / "downloaded" / filename
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"weights")
        return str(path)

    monkeypatch.setattr("huggingface_hub.hf_hub_download", fake_download)
    return calls


def online(monkeypatch: pytest.MonkeyPatch, *, reachable: bool) -> None:
    """Unset HF_HUB_OFFLINE and make the hub probe answer ``reachable`` without a connection."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(weights, "hub_reachable", lambda timeout: reachable)


def test_auto_offline_fails_fast_without_probing_or_downloading(
    downloads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(weights, "hub_reachable", lambda timeout: pytest.fail("probed the hub while offline"))
    vit = tiny_encoder(image_size=56).vit
    start = time.perf_counter()
    with pytest.raises(WeightsNotFoundError, match=r"(?s)skipped: HF_HUB_OFFLINE is set.*unset HF_HUB_OFFLINE"):
        locate_weights(vit, allow_download="auto")
    assert time.perf_counter() - start < 1.0 and downloads == []


def test_false_never_downloads_and_says_how_to_allow_it(downloads: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    online(monkeypatch, reachable=True)
    with pytest.raises(WeightsNotFoundError, match=r"set encoder.allow_download=auto \(or true\)"):
        locate_weights(tiny_encoder(image_size=56).vit, allow_download=False)
    assert downloads == []


@pytest.mark.parametrize("allow_download", [True, "true", "auto"])
def test_true_or_auto_online_downloads_once(
    downloads: list[str], monkeypatch: pytest.MonkeyPatch, allow_download: bool | str
) -> None:
    online(monkeypatch, reachable=True)
    found = locate_weights(tiny_encoder(image_size=56).vit, allow_download=allow_download)
    assert downloads == ["timm/vit_small_patch14_dinov2.lvd142m"]
    assert found.source == "download:timm/vit_small_patch14_dinov2.lvd142m/model.safetensors" and found.path.is_file()


def test_auto_with_the_hub_unreachable_does_not_download(downloads: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    online(monkeypatch, reachable=False)
    with pytest.raises(WeightsNotFoundError, match=r"did not answer within 2 s.*\n(.*\n)*.*connect to the internet"):
        locate_weights(tiny_encoder(image_size=56).vit, allow_download="auto")
    assert downloads == []


def test_the_encoder_defaults_to_auto_and_rejects_other_modes() -> None:
    assert tiny_encoder().settings["allow_download"] == "auto"
    assert download_mode(False) == "false"
    with pytest.raises(ValueError, match="allow_download must be auto"):
        download_mode("sometimes")


def test_the_hub_probe_sees_a_listening_port_and_a_closed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as server:  # loopback only: never the network
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        assert hub_reachable(timeout=1.0)
    assert not hub_reachable(timeout=1.0)  # the same port, closed now
