"""What training optimises and how validation measures it.

Axis legend: B windows in a batch, L frames per window, T context frames, H evaluation horizon
(model steps), P patches, D feature size, A action size of one model step, Sp proprioception size.

``NextFrameObjective`` is the module the trainer (and DDP) wraps: batch of windows in, loss out.

Both objectives predict every frame of a window from the frames before it in parallel
(block-causal) and score the predictions of frames 1..L-1 with smooth-L1 (beta 0.1) against the
cached features, both standardised with the predictor's feature statistics. Fine-tuning can add an
autoregressive rollout loss (``train.rollout_loss``) over the window's horizon. Pretraining is
action-free and uses each window's own timestamps (variable frame stride); fine-tuning conditions
on the window's actions through ``WorldModel.forward`` (which normalises them and places frames
``dt`` seconds apart, the same spacing as fixed-stride windows). A model with proprioception is fed
the window's proprioception with the actions, and its predictions of frames 1..L-1's proprioception
are scored too: smooth-L1 in the model's normalised units, added with weight 1 (in the rollout loss,
each step after the first is fed the proprioception the model predicted, as when planning).

``rollout_errors`` is the validation metric: for each window of T + H frames, the model sees the
first T frames' features and the H actions taken from the last context frame on, rolls out
autoregressively with ``WorldModel.rollout`` (its own predictions become context), and its
prediction of step h is scored against the cached features of frame T - 1 + h. The copy-last-frame
baseline predicts frame T - 1 for every step; a rollout with other windows' actions tells whether
the model uses its actions. Errors are mean squared errors per feature element (per normalised
proprioception element for ``proprio_mse``), averaged over windows.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from worldplan.models.predictor import smooth_l1
from worldplan.models.world_model import WorldModel

__all__ = ["NextFrameObjective", "rollout_errors"]


class NextFrameObjective(nn.Module):
    """Teacher-forced next-frame prediction loss of a world model, plus an optional rollout loss.

    Args:
        model: the world model (its predictor is what trains).
        use_actions: condition on ``batch["actions"]`` (fine-tuning) or not (pretraining); a model with
            proprioception also reads ``batch["proprio"]``.
        beta: smooth-L1 transition point.
        rollout_weight: weight of the autoregressive loss (fine-tuning): the model rolls out from
            the window's first ``model.window.context`` frames with the window's actions, its own
            predictions becoming context, and every step is scored. Teacher forcing alone never
            shows the model its own errors, which then compound over a planning horizon.
    """

    def __init__(self, model: WorldModel, *, use_actions: bool, beta: float = 0.1, rollout_weight: float = 0.0) -> None:
        super().__init__()
        if use_actions and model.action_dim is None:
            raise ValueError("an action-conditioned objective needs a world model built with action_dim")
        if rollout_weight < 0 or (rollout_weight and not use_actions):
            raise ValueError(f"rollout_weight must be >= 0 and needs actions (fine-tuning); got {rollout_weight}")
        self.model, self.use_actions, self.beta, self.rollout_weight = model, use_actions, beta, rollout_weight

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Loss () of a batch: ``z`` (B, L, P, D), ``times`` (B, L) seconds, ``actions`` (B, L-1, A) and,
        for a model with proprioception, ``proprio`` (B, L, Sp)."""
        z = batch["z"].float()
        if not self.use_actions:
            return self._score(self.model.predictor(z, batch["times"]), z[:, 1:])
        actions = batch["actions"]
        proprio = batch["proprio"] if self.model.proprio_dim else None
        fed = None if proprio is None else proprio[:, :-1]
        prediction, predicted = self.model.forward_with_proprio(z, actions, fed)
        loss = self._score(prediction, z[:, 1:])
        if predicted is not None:
            loss = loss + self._score_proprio(predicted, proprio[:, 1:])
        if self.rollout_weight:
            loss = loss + self.rollout_weight * self._rollout_loss(z, actions, proprio, prediction, predicted)
        return loss

    def _rollout_loss(
        self, z: torch.Tensor, actions: torch.Tensor, proprio: torch.Tensor | None,
        prediction: torch.Tensor, predicted: torch.Tensor | None,
    ) -> torch.Tensor:
        """Loss of rolling out frames T..L-1 from frames 0..T-1, the mean over the H = L - T steps.

        The rollout's first step has the inputs of the teacher-forced prediction of frame T (true frames
        0..T-1, action T-1), so that prediction is reused, not recomputed: the rollout continues from it,
        with gradients through it, as if it had predicted it (one of the H rollout steps saved: 1.11x per
        fine-tuning step at H = 3, ``benchmarks/train_step.py``).

        Args:
            z: (B, L, P, D) window features; actions: (B, L-1, A); proprio: (B, L, Sp) or None.
            prediction: (B, L-1, P, D) teacher-forced predictions of frames 1..L-1.
            predicted: (B, L-1, Sp) their predicted proprioception, or None.
        """
        context = self.model.window.context
        steps = z.shape[1] - context
        if steps < 1:
            raise ValueError(f"the rollout loss needs windows longer than the {context} context frames: "
                             "set train.window.horizon >= 1")
        first = prediction[:, context - 1 : context]  # (B, 1, P, D): frame T
        loss = self._score(first, z[:, context : context + 1])
        if predicted is not None:
            loss = loss + self._score_proprio(predicted[:, context - 1], proprio[:, context])
        if steps == 1:
            return loss
        rolled, rolled_proprio = self.model.rollout_with_proprio(
            torch.cat([z[:, :context], first], 1), actions[:, None, context:],
            proprio=None if predicted is None else predicted[:, context - 1],
        )  # (B, 1, H - 1, P, D), (B, 1, H - 1, Sp) or None: frames T+1..L-1
        rest = self._score(rolled[:, 0], z[:, context + 1 :])
        if rolled_proprio is not None:
            rest = rest + self._score_proprio(rolled_proprio[:, 0], proprio[:, context + 1 :])
        return (loss + (steps - 1) * rest) / steps

    def _score(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Smooth-L1 in the predictor's standardised feature units."""
        standardize = self.model.predictor.standardize
        return smooth_l1(standardize(prediction), standardize(target), beta=self.beta)

    def _score_proprio(self, predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Smooth-L1 of env-unit proprioception (equal shapes (..., Sp)) in the model's normalised units."""
        normalize = self.model.normalize_proprio
        return smooth_l1(normalize(predicted), normalize(target), beta=self.beta)


@torch.no_grad()
def rollout_errors(
    model: WorldModel, windows: Dataset, *, context: int, batch_size: int, device: torch.device
) -> dict[str, list[float] | int]:
    """Latent MSE per rollout step of ``model``, of ``model`` fed other windows' actions, and of
    copying the last context frame.

    The "shuffled actions" rollout gives each window the actions of the window half a batch away
    (another episode when a batch spans several): if its error matches ``model_mse``, the model
    ignores its actions.

    Args:
        model: an action-conditioned world model.
        windows: fixed-stride windows of ``context + H`` frames with actions
            (``WindowDataset(..., stride=frameskip, with_actions=True)``).
        context: T, frames given to the model.
        batch_size: windows per rollout call.
        device: where to run.

    Returns:
        ``{"model_mse": [H], "shuffled_actions_mse": [H], "copy_last_mse": [H], "windows": count}``, and
        ``"proprio_mse": [H]`` for windows with ``proprio`` (a model with proprioception).
    """
    was_training = model.training
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    count = 0
    for batch in DataLoader(windows, batch_size=batch_size, shuffle=False):
        for name, err in _batch_errors(model, batch, context, device).items():
            sums[name] = err if name not in sums else sums[name] + err
        count += batch["z"].shape[0]
    model.train(was_training)
    if count == 0:
        raise ValueError("no validation windows: use more validation episodes or a shorter window")
    return {**{name: (total / count).tolist() for name, total in sums.items()}, "windows": count}


def _batch_errors(model: WorldModel, batch: dict, context: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Per-step squared errors summed over the batch's windows, each (H,)."""
    z = batch["z"].to(device).float()  # (B, T + H, P, D)
    horizon = z.shape[1] - context
    if horizon < 1:
        raise ValueError(f"validation windows of {z.shape[1]} frames leave no horizon after {context} context frames")
    actions = batch["actions"].to(device)[:, context - 1 : context - 1 + horizon]  # (B, H, A)
    candidates = torch.stack([actions, actions.roll(z.shape[0] // 2, dims=0)], 1)  # (B, 2, H, A)
    if "proprio" in batch:
        proprio = batch["proprio"].to(device)  # (B, T + H, Sp)
        rolled, predicted = model.rollout_with_proprio(z[:, :context], candidates, proprio=proprio[:, context - 1])
    else:
        rolled, predicted = model.rollout(z[:, :context], candidates), None
    errors = (rolled - z[:, None, context:]).pow(2).mean(dim=(3, 4)).sum(0)  # (2, H)
    copy = (z[:, context - 1 : context] - z[:, context:]).pow(2).mean(dim=(2, 3)).sum(0)
    out = {"model_mse": errors[0], "shuffled_actions_mse": errors[1], "copy_last_mse": copy}
    if predicted is not None:
        diff = model.normalize_proprio(predicted[:, 0]) - model.normalize_proprio(proprio[:, context:])
        out["proprio_mse"] = diff.pow(2).mean(-1).sum(0)
    return out
