"""The feature cache: every frame of a dataset encoded once, stored as fp16 patch features.

Axis legend: F frames of an item (an episode's T+1 frames, or a video's frames), P patches,
D feature size, S image side.

Layout, beside the dataset (an episode dataset or a video folder)::

    <dataset>/features/<key>/cache.json        format + version, encoder identity, source identity,
                                               dataset fingerprint, one record per encoded item
    <dataset>/features/<key>/ep_000000.npy     (F, P, D) float16, read with np.load(mmap_mode="r")

``key`` is ``FrozenEncoder.cache_key()``, a short name plus a hash of the encoder identity. Each
item is written to a temporary file and renamed; ``cache.json`` is replaced atomically every few
seconds and when encoding stops (normally or by an exception), so an interrupted encoding resumes
with the items it lacks and a second ``encode_dataset`` does no work.
``FeatureCache.open`` is the strict read-only check: it raises ``CacheNotFoundError`` when no cache
was made with this encoder, and ``StaleCacheError`` when the dataset changed since encoding or
items are missing; ``encode_dataset`` (``worldplan encode``) brings a cache up to date.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

from worldplan.atomic import atomic_path, write_json_atomic
from worldplan.data.episodes import EpisodeDataset
from worldplan.data.windows import NonFiniteDataError, Track

__all__ = [
    "CACHE_FORMAT", "CACHE_VERSION", "StaleCacheError", "CacheNotFoundError", "FrameSource",
    "EpisodeFrames", "FeatureCache", "as_frame_source", "encode_dataset",
]

CACHE_FORMAT = "worldplan-features"
CACHE_VERSION = 1
CACHE_FILE = "cache.json"
FEATURES_DIR = "features"
RECORD_EVERY_S = 5.0

log = logging.getLogger(__name__)


class StaleCacheError(ValueError):
    """The cache no longer matches its dataset (changed or missing items); re-encode it."""


class CacheNotFoundError(FileNotFoundError):
    """No feature cache was made for this dataset with this encoder."""


class FrameSource(Protocol):
    """What the cache needs from a dataset: its directory, items, their fingerprints and frames."""

    path: Path

    def __len__(self) -> int: ...

    def identity(self) -> dict[str, Any]:
        """Dataset-wide settings that change every item's frames (env, image size, resizing...)."""

    def entry(self, index: int) -> dict[str, Any]:
        """Item ``index``'s fingerprint: JSON-able, with at least ``name`` and ``fps``."""

    def iter_frames(self, index: int, chunk: int) -> Iterator[np.ndarray]:
        """Item ``index``'s frames in order, as (<= chunk, S, S, 3) uint8 arrays."""


class EpisodeFrames:
    """An ``EpisodeDataset`` seen as a ``FrameSource`` (fingerprint: meta.json's episode entry)."""

    def __init__(self, dataset: EpisodeDataset) -> None:
        self.dataset, self.path = dataset, Path(dataset.path)

    def __len__(self) -> int:
        return len(self.dataset)

    def identity(self) -> dict[str, Any]:
        return {"kind": "episodes", **self.dataset.meta.identity()}

    def entry(self, index: int) -> dict[str, Any]:
        record = self.dataset.meta.episodes[index]
        return {"name": f"ep_{index:06d}", "seed": record["seed"], "length": record["length"],
                "fps": self.dataset.meta.fps}

    def iter_frames(self, index: int, chunk: int) -> Iterator[np.ndarray]:
        frames = self.dataset[index].frames
        for start in range(0, len(frames), chunk):
            yield np.array(frames[start : start + chunk])


def as_frame_source(dataset: Any) -> FrameSource:
    """Wrap an ``EpisodeDataset``; pass a ``FrameSource`` (e.g. a ``VideoFolder``) through."""
    return EpisodeFrames(dataset) if isinstance(dataset, EpisodeDataset) else dataset


def _fingerprint(source_identity: dict, entries: list[dict]) -> str:
    text = json.dumps({"version": CACHE_VERSION, "source": source_identity, "items": entries}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _item_file(index: int) -> str:
    return f"ep_{index:06d}.npy"


class FeatureCache:
    """A complete, up-to-date feature cache of one dataset for one encoder.

    Attributes:
        directory: ``<dataset>/features/<key>``.
        record: the parsed ``cache.json``.
    """

    def __init__(self, directory: Path, record: dict[str, Any]) -> None:
        self.directory, self.record = Path(directory), record

    def __len__(self) -> int:
        return len(self.record["items"])

    @property
    def encoder_identity(self) -> dict[str, Any]:
        """The identity of the encoder that made these features."""
        return self.record["encoder"]

    def name(self, index: int) -> str:
        """How messages name item ``index``: ``<dataset>/<item name>``."""
        return f"{self.directory.parent.parent}/{self.record['items'][index]['entry']['name']}"

    def fps(self, index: int) -> float:
        """Frames per second of item ``index``."""
        return float(self.record["items"][index]["entry"]["fps"])

    def features(self, index: int) -> np.ndarray:
        """(F, P, D) float16 features of item ``index``, memory-mapped read-only."""
        return np.load(self.directory / _item_file(index), mmap_mode="r")

    def track(self, index: int, *, actions: np.ndarray | None = None, proprio: np.ndarray | None = None) -> Track:
        """Item ``index`` as a training ``Track``, with its (F-1, A_env) actions / (F, Sp) proprio if given."""
        return Track(name=self.name(index), z=self.features(index), fps=self.fps(index), actions=actions,
                     proprio=proprio)

    @classmethod
    def open(cls, dataset: Any, encoder_identity: dict[str, Any]) -> FeatureCache:
        """The cache of ``dataset`` made by the encoder with ``encoder_identity``, checked.

        Raises:
            CacheNotFoundError: no cache of this dataset was made with this encoder.
            StaleCacheError: the dataset changed since encoding, or items were never encoded.
        """
        source = as_frame_source(dataset)
        directory = _find_cache(source.path, encoder_identity)
        record = json.loads((directory / CACHE_FILE).read_text())
        problem = _staleness(record, source)
        if problem:
            raise StaleCacheError(f"feature cache {directory} is stale: {problem}; re-encode with `worldplan encode`")
        return cls(directory, record)


def _find_cache(root: Path, encoder_identity: dict[str, Any]) -> Path:
    found = []
    for path in sorted((root / FEATURES_DIR).glob(f"*/{CACHE_FILE}")):
        record = json.loads(path.read_text())
        if record.get("format") == CACHE_FORMAT and record.get("encoder") == encoder_identity:
            return path.parent
        found.append(path.parent.name)
    raise CacheNotFoundError(
        f"no feature cache of {root} for encoder {encoder_identity.get('model')} "
        f"({encoder_identity.get('weights')}, {encoder_identity.get('image_size')} px); caches found for other "
        f"encoders: {found or 'none'}; run `worldplan encode` with this encoder config"
    )


def _staleness(record: dict[str, Any], source: FrameSource) -> str:
    """'' if ``record`` covers every item of ``source`` as it is now, else what is wrong."""
    if record.get("version") != CACHE_VERSION:
        return f"cache format version {record.get('version')}, this worldplan writes {CACHE_VERSION}"
    if record["source"] != source.identity():
        return "the dataset's settings changed since encoding"
    items = record["items"]
    if len(items) > len(source):
        return f"it has {len(items)} items, the dataset only {len(source)} (the dataset changed)"
    for index, item in enumerate(items):
        if item is not None and item["entry"] != source.entry(index):
            return f"item {index} changed since encoding ({item['entry']} -> {source.entry(index)})"
    missing = [i for i in range(len(source)) if i >= len(items) or items[i] is None]
    if missing:
        return f"{len(missing)} of {len(source)} items are not encoded (first: {missing[0]})"
    return ""


def encode_dataset(
    dataset: Any, encoder: torch.nn.Module, *, batch_size: int, device: str | torch.device, progress: bool = True
) -> FeatureCache:
    """Encode every item of ``dataset`` not yet in its cache for ``encoder``; return the cache.

    Items encoded before and unchanged are kept (a second call does no work); items whose
    fingerprint changed are re-encoded (with a warning); a change of the dataset's settings drops
    the whole cache. The encoder runs in its own precision (bf16 where it chooses).

    Args:
        dataset: an ``EpisodeDataset`` or a ``FrameSource`` (e.g. ``VideoFolder``).
        encoder: ``FrozenEncoder``: ``(n, S, S, 3) uint8 -> (n, P, D)``, with ``identity()`` and
            ``cache_key()``.
        batch_size: frames per encoder call.
        device: where the frames are sent (the encoder's device).
        progress: show a tqdm bar over items.
    """
    source = as_frame_source(dataset)
    directory = source.path / FEATURES_DIR / encoder.cache_key()
    record = _load_or_new_record(directory, source, encoder.identity())
    todo = [i for i in range(len(source)) if _needs_encoding(directory, record, source, i)]
    if todo:
        log.info("encoding %d of %d items of %s into %s", len(todo), len(source), source.path, directory)
    last_write = time.monotonic()
    try:
        for index in tqdm(todo, desc="encode", disable=not progress or not todo):
            z = _encode_item(source, index, encoder, batch_size, torch.device(device))
            _save_npy_atomic(directory / _item_file(index), z)
            record["items"][index] = {"entry": source.entry(index), "frames": int(len(z))}
            # cache.json grows with the dataset: rewrite it every few seconds, not after every item
            # (an item written but not recorded before a hard kill is simply encoded again).
            if time.monotonic() - last_write > RECORD_EVERY_S:
                _write_record(directory, record)
                last_write = time.monotonic()
    finally:
        if todo:
            _write_record(directory, record)
    return FeatureCache(directory, record)


def _write_record(directory: Path, record: dict[str, Any]) -> None:
    record["fingerprint"] = _fingerprint(record["source"], [it and it["entry"] for it in record["items"]])
    write_json_atomic(directory / CACHE_FILE, record)


def _load_or_new_record(directory: Path, source: FrameSource, encoder_identity: dict) -> dict[str, Any]:
    path = directory / CACHE_FILE
    if path.exists():
        record = json.loads(path.read_text())
        if record.get("version") == CACHE_VERSION and record["source"] == source.identity() \
                and record["encoder"] == encoder_identity:
            record["items"] = (record["items"] + [None] * len(source))[: len(source)]
            return record
        log.warning("feature cache %s was made for other dataset settings or encoder: re-encoding all", directory)
    directory.mkdir(parents=True, exist_ok=True)
    record = {
        "format": CACHE_FORMAT, "version": CACHE_VERSION, "encoder": encoder_identity,
        "source": source.identity(), "items": [None] * len(source), "fingerprint": None,
    }
    write_json_atomic(path, record)
    return record


def _needs_encoding(directory: Path, record: dict[str, Any], source: FrameSource, index: int) -> bool:
    item = record["items"][index]
    if item is None or not (directory / _item_file(index)).exists():
        return True
    if item["entry"] != source.entry(index):
        log.warning("%s changed since it was encoded: re-encoding it", source.entry(index)["name"])
        return True
    return False


def _save_npy_atomic(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array)


def _encode_item(source: FrameSource, index: int, encoder: torch.nn.Module, batch_size: int,
                 device: torch.device) -> np.ndarray:
    """(F, P, D) float16 features of item ``index``, checked finite."""
    chunks = []
    with torch.inference_mode():
        for frames in source.iter_frames(index, batch_size):
            chunks.append(encoder(torch.from_numpy(frames).to(device)).to(torch.float16).cpu())
    z = torch.cat(chunks).numpy()
    if not np.isfinite(z).all():
        name = source.entry(index)["name"]
        raise NonFiniteDataError(f"{source.path}/{name}: the encoder produced non-finite features")
    return z
