"""Config mistakes are named, with the nearest valid key, never silently dropped or defaulted."""

from __future__ import annotations

import pytest

from worldplan.config import compose


def test_a_misspelled_key_names_it_and_suggests_the_nearest_valid_key():
    with pytest.raises(ValueError, match=r"unknown config key data\.episode; did you mean data\.episodes\?") as err:
        compose("config", ["preset=tiny", "data.episode=4"])
    assert "+" not in str(err.value)


def test_a_misspelled_top_level_key_lists_the_top_level_keys():
    with pytest.raises(ValueError, match=r"unknown config key sed; did you mean seed\? \(keys at the top level: .*"):
        compose("config", ["sed=3"])
