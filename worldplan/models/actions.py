"""Zero-initialised action blocks and the helpers to fine-tune them on a pretrained predictor.

Axis legend: B batch, T frames, M query tokens, A action size of one model step
(frameskip x env action size), Sp proprioception size, W predictor width.

An action (and optionally proprioception) vector is embedded once; before each conditioned
predictor layer, ``q = q + MLP_l(embed(a))`` adds the result to every query of that step. The
last linear layer of every ``MLP_l`` starts at zero, so at initialisation the predictor's output is
exactly the action-free predictor's: fine-tuning starts from the pretrained model, not near it.
With proprioception, a linear head also predicts the next frame's (from the refined queries), so
that a rollout feeds its own prediction to the next step; it trains with the action blocks.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

FINETUNE_MODES = ("actions", "all")


class ActionBlock(nn.Module):
    """``MLP(e)`` for one predictor layer: (..., W) -> (..., W); zero at initialisation."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, width))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """(..., W) action embedding -> (..., W) query update."""
        return self.net(e)


class ActionConditioner(nn.Module):
    """Embeds per-step actions (+ proprioception) and holds one `ActionBlock` per conditioned layer,
    and with proprioception the head ``proprio_head`` (W -> Sp) that predicts it.

    Args:
        action_dim: A, normalised model-step action size.
        proprio_dim: Sp, normalised proprioception size (0 for none).
        width: W, predictor width.
        depth: number of predictor layers.
        every: condition layers 0, every, 2 * every, ...
    """

    def __init__(self, *, action_dim: int, proprio_dim: int, width: int, depth: int, every: int) -> None:
        super().__init__()
        if action_dim <= 0 or proprio_dim < 0 or every <= 0:
            raise ValueError(
                f"action blocks need action_dim > 0, proprio_dim >= 0, every > 0; "
                f"got {action_dim}, {proprio_dim}, {every}"
            )
        self.action_dim, self.proprio_dim = action_dim, proprio_dim
        self.embed = nn.Linear(action_dim + proprio_dim, width)
        self.layers = list(range(0, depth, every))
        self.blocks = nn.ModuleList(ActionBlock(width) for _ in self.layers)
        self._block_of = {layer: i for i, layer in enumerate(self.layers)}
        self.proprio_head = nn.Linear(width, proprio_dim) if proprio_dim else None

    def embed_inputs(self, actions: torch.Tensor, proprio: torch.Tensor | None) -> torch.Tensor:
        """Embed one step's inputs.

        Args:
            actions: (..., A) normalised actions.
            proprio: (..., Sp) normalised proprioception, required iff ``proprio_dim > 0``.

        Returns:
            (..., W) embeddings.
        """
        if actions.shape[-1] != self.action_dim:
            raise ValueError(f"actions have size {actions.shape[-1]} per step; the model expects {self.action_dim}")
        if (proprio is None) != (self.proprio_dim == 0):
            raise ValueError(f"the model expects proprio of size {self.proprio_dim} (0 means none); "
                             f"got {'none' if proprio is None else proprio.shape[-1]}")
        if proprio is not None:
            if proprio.shape[-1] != self.proprio_dim:
                raise ValueError(f"proprio has size {proprio.shape[-1]}; the model expects {self.proprio_dim}")
            actions = torch.cat([actions, proprio], -1)
        return self.embed(actions)

    def update(self, layer: int, e: torch.Tensor) -> torch.Tensor | None:
        """Query update for predictor ``layer``: (..., W) -> (..., W), or None if not conditioned."""
        index = self._block_of.get(layer)
        return None if index is None else self.blocks[index](e)


def load_pretrained_predictor(target: nn.Module, source: nn.Module | Mapping[str, torch.Tensor]) -> None:
    """Copy an action-free (pretrained) predictor's weights into ``target``; action blocks are kept.

    ``target`` and ``source`` are ``worldplan.models.predictor.Predictor`` instances (or ``source`` a state
    dict); they are typed as modules because the predictor imports this module.

    Every non-action tensor of ``target`` must exist in ``source`` with the same shape. Action-block
    tensors in ``source`` (a conditioned checkpoint) are loaded too when they fit.

    Raises:
        ValueError: the architectures differ; the message names the keys and shapes.
    """
    state = source.state_dict() if isinstance(source, nn.Module) else dict(source)
    own = target.state_dict()
    base = {k for k in own if not k.startswith("actions.")}
    missing = sorted(base - set(state))
    unexpected = sorted(k for k in state if k not in own and not k.startswith("actions."))
    shapes = [f"{k}: source {tuple(state[k].shape)} vs target {tuple(own[k].shape)}"
              for k in sorted(set(state) & set(own)) if state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        raise ValueError(
            "pretrained predictor does not match the architecture being fine-tuned: "
            f"missing {missing[:8]}, unexpected {unexpected[:8]}, shape mismatches {shapes[:8]}; "
            "use the same predictor config (width, depth, heads, mlp_ratio) and encoder as in pretraining"
        )
    with torch.no_grad():
        for key, value in state.items():
            if key in own:
                own[key].copy_(value)


def finetune_parameters(predictor: nn.Module, mode: str) -> list[nn.Parameter]:
    """Set ``requires_grad`` for fine-tuning and return the trainable parameters.

    Args:
        predictor: an action-conditioned ``Predictor`` (its ``actions`` attribute holds the action blocks).
        mode: ``"actions"`` trains only the action blocks (and their embedding and proprioception
            head); ``"all"`` trains everything.

    Raises:
        ValueError: unknown mode, or ``"actions"`` on a predictor without action blocks.
    """
    if mode not in FINETUNE_MODES:
        raise ValueError(f"fine-tuning mode must be one of {FINETUNE_MODES}; got {mode!r}")
    if mode == "actions" and predictor.actions is None:
        raise ValueError("mode 'actions' needs a predictor built with action_dim (it has no action blocks)")
    for name, param in predictor.named_parameters():
        param.requires_grad_(mode == "all" or name.startswith("actions."))
    return [p for p in predictor.parameters() if p.requires_grad]
