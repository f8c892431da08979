"""Step-indexed batches: the same global batch at a given step for any number of processes.

Why not ``torch.utils.data.DistributedSampler``: it shards whole epochs and cannot start in the
middle of one, so a resumed run would see different batches than an uninterrupted one. Here the
global batch of step ``s`` is a pure function of (seed, s): pass ``e = s // steps_per_epoch``
shuffles all windows with seed (seed, e), step ``s`` takes the next ``batch_size`` of them, and
rank ``r`` of ``W`` processes takes the ``r``-th of ``W`` equal slices (DistributedSampler's
sharding, per batch). Resuming at step ``s`` just starts there. The indices are epoch-tagged
(``e * num_items + i``) so datasets can vary per-pass randomness without state in their workers.
"""

from __future__ import annotations

import numpy as np
from torch.utils.data import Sampler

__all__ = ["StepBatchSampler"]


class StepBatchSampler(Sampler[list[int]]):
    """Yields this process's share of each global batch for steps ``start_step .. steps-1``.

    Args:
        num_items: windows in the dataset.
        batch_size: the global batch size (all processes together); a multiple of ``world_size``.
        rank: this process's rank.
        world_size: number of processes.
        seed: the shuffling seed.
        start_step: the first step to yield (the resume point).
        steps: one past the last step.
    """

    def __init__(
        self, num_items: int, *, batch_size: int, rank: int, world_size: int, seed: int, start_step: int, steps: int
    ) -> None:
        if batch_size % world_size:
            raise ValueError(f"batch_size {batch_size} is not a multiple of the {world_size} processes")
        if num_items < batch_size:
            raise ValueError(
                f"the dataset has {num_items} windows, fewer than one batch of {batch_size}: "
                "lower train.batch_size or use more data"
            )
        self.num_items, self.batch_size, self.seed = num_items, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.start_step, self.steps = start_step, steps
        self.steps_per_epoch = num_items // batch_size
        self._epoch, self._order = -1, np.empty(0, dtype=np.int64)

    def global_batch(self, step: int) -> np.ndarray:
        """(batch_size,) epoch-tagged window indices of ``step``, all processes together."""
        epoch, position = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._order = np.random.default_rng([self.seed, epoch]).permutation(self.num_items)
            self._epoch = epoch
        batch = self._order[position * self.batch_size : (position + 1) * self.batch_size]
        return batch + epoch * self.num_items

    def __iter__(self):
        share = self.batch_size // self.world_size
        for step in range(self.start_step, self.steps):
            batch = self.global_batch(step)
            yield batch[self.rank * share : (self.rank + 1) * share].tolist()

    def __len__(self) -> int:
        return max(0, self.steps - self.start_step)
