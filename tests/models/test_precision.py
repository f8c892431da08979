"""Precision names: what ``auto`` resolves to for encoding and for training, and bad names."""

from __future__ import annotations

import pytest

from worldplan.models import precision
from worldplan.models.precision import resolve_dtype, resolve_train_dtype


def test_auto_encodes_in_bf16_on_an_amx_cpu_but_trains_in_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_has_amx", lambda: True)
    assert resolve_dtype("auto", "cpu") == "bf16"
    assert resolve_train_dtype("auto", "cpu") == "fp32"
    assert resolve_train_dtype("bf16", "cpu") == "bf16"  # asked for by name, it is honoured


def test_auto_is_fp32_on_a_cpu_without_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_has_amx", lambda: False)
    assert resolve_dtype("auto", "cpu") == resolve_train_dtype("auto", "cpu") == "fp32"


@pytest.mark.parametrize("resolve", [resolve_dtype, resolve_train_dtype])
def test_an_unknown_precision_name_is_refused_by_name(resolve) -> None:
    with pytest.raises(ValueError, match="'fp16'"):
        resolve("fp16", "cpu")
