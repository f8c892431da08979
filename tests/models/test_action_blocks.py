"""Action blocks: exact zero-init equivalence, loading a pretrained predictor, fine-tuning groups."""

from __future__ import annotations

import pytest
import torch
from model_fixtures import features, randomize_action_blocks, tiny_predictor

from worldplan.models import finetune_parameters, load_pretrained_predictor


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    z = features(2, 4, 16, 32, seed=seed)
    times = torch.arange(4).float().mul(0.2).expand(2, 4)
    return z, times, features(2, 3, 4, seed=seed + 1)


def _pretrained_and_conditioned(**kwargs):
    pretrained = tiny_predictor(seed=0, layer_scale=0.5)
    conditioned = tiny_predictor(seed=7, layer_scale=0.5, action_dim=4, **kwargs)
    load_pretrained_predictor(conditioned, pretrained)
    return pretrained, conditioned


def test_at_init_the_conditioned_predictor_equals_the_pretrained_one_exactly() -> None:
    pretrained, conditioned = _pretrained_and_conditioned()
    z, times, actions = _inputs()
    assert torch.equal(conditioned(z, times, actions), pretrained(z, times))


def test_trained_action_blocks_make_predictions_depend_on_actions() -> None:
    _, conditioned = _pretrained_and_conditioned()
    randomize_action_blocks(conditioned)
    z, times, actions = _inputs()
    assert (conditioned(z, times, actions) - conditioned(z, times, -actions)).abs().max() > 1e-3


def test_action_blocks_every_second_layer_only_exist_there() -> None:
    conditioned = tiny_predictor(action_dim=4, action_every=2)
    assert conditioned.actions.layers == [0] and len(conditioned.actions.blocks) == 1


def test_proprio_input_is_required_when_built_with_it() -> None:
    pretrained, conditioned = _pretrained_and_conditioned(proprio_dim=3)
    z, times, actions = _inputs()
    assert torch.equal(conditioned(z, times, actions, features(2, 3, 3)), pretrained(z, times))
    with pytest.raises(ValueError, match="proprio of size 3"):
        conditioned(z, times, actions)


def test_loading_a_predictor_of_another_width_names_keys_and_shapes() -> None:
    target = tiny_predictor(action_dim=4)
    with pytest.raises(ValueError, match=r"blocks.0.kv.weight: source \(96, 48\) vs target \(64, 32\)"):
        load_pretrained_predictor(target, tiny_predictor(width=48, heads=2))


def test_loading_a_shallower_predictor_names_the_missing_blocks() -> None:
    with pytest.raises(ValueError, match="missing .*blocks.1"):
        load_pretrained_predictor(tiny_predictor(action_dim=4), tiny_predictor(depth=1))


def test_action_size_mismatch_is_a_clear_error() -> None:
    z, times, actions = _inputs()
    with pytest.raises(ValueError, match="size 4 per step; the model expects 6"):
        tiny_predictor(action_dim=6)(z, times, actions)


def test_actions_for_an_action_free_predictor_are_rejected() -> None:
    z, times, actions = _inputs()
    with pytest.raises(ValueError, match="no action blocks"):
        tiny_predictor()(z, times, actions)


def test_actions_mode_trains_only_the_action_blocks() -> None:
    predictor = tiny_predictor(action_dim=4)
    trainable = finetune_parameters(predictor, "actions")
    names = {n for n, p in predictor.named_parameters() if p.requires_grad}
    assert names and all(n.startswith("actions.") for n in names)
    assert len(trainable) == len(names)


def test_all_mode_trains_everything() -> None:
    predictor = tiny_predictor(action_dim=4)
    assert len(finetune_parameters(predictor, "all")) == len(list(predictor.parameters()))


def test_actions_mode_on_an_action_free_predictor_is_rejected() -> None:
    with pytest.raises(ValueError, match="no action blocks"):
        finetune_parameters(tiny_predictor(), "actions")


def test_unknown_finetune_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="'actions', 'all'"):
        finetune_parameters(tiny_predictor(action_dim=4), "head")
