"""Autoregressive rollouts of a `Predictor` over N candidate action sequences per episode.

Axis legend: B episodes, N candidates, T context frames, H horizon (model steps), P patches,
D feature size, W predictor width, A action size, h heads, d head size, Lc context tokens (T * P),
Lo tokens of frames predicted so far.

`rollout_shared` computes the context frames' keys and values once per episode and layer and lets
all N candidates read them (the N query sets are stacked along the query axis, so the shared
memory is never copied); only the keys and values of the frames each candidate predicts are per
candidate. The two parts are merged in one softmax. `rollout_naive` loops over candidates and calls
`Predictor.predict_at` on the growing sequence, recomputing everything: the reference the shared
rollout is tested against, and the baseline of ``benchmarks/rollout.py``.
"""

from __future__ import annotations

import torch

from worldplan.models.predictor import Predictor


def merged_attention(
    q: torch.Tensor, ctx_k: torch.Tensor, ctx_v: torch.Tensor, own_k: torch.Tensor | None, own_v: torch.Tensor | None
) -> torch.Tensor:
    """Softmax attention over shared context keys plus per-candidate keys, as one distribution.

    The N candidates' queries are stacked along the query axis for the shared part, so one matmul
    per head reads the context keys and values without copying them N times.

    Args:
        q: (B, h, N, P, d) queries.
        ctx_k, ctx_v: (B, h, Lc, d) shared by the N candidates.
        own_k, own_v: (B, h, N, Lo, d) per candidate, or None before the first prediction.

    Returns:
        (B, h, N, P, d) attention output.
    """
    b, h, n, p, d = q.shape
    q = q * d**-0.5  # scale the queries, not the larger score tensor
    scores_ctx = (q.reshape(b, h, n * p, d) @ ctx_k.transpose(-1, -2)).view(b, h, n, p, -1)
    if own_k is None:
        weights = scores_ctx.softmax(-1)
        return (weights.view(b, h, n * p, -1) @ ctx_v).view(b, h, n, p, d)
    scores = torch.cat([scores_ctx, q @ own_k.transpose(-1, -2)], -1).softmax(-1)
    lc = ctx_k.shape[-2]
    shared = (scores[..., :lc].reshape(b, h, n * p, lc) @ ctx_v).view(b, h, n, p, d)
    return shared + scores[..., lc:] @ own_v


def _decode_step(
    predictor: Predictor, ctx: list[tuple[torch.Tensor, torch.Tensor]], own: list[tuple[torch.Tensor, ...] | None],
    angles: tuple[torch.Tensor, torch.Tensor], embedding: torch.Tensor | None, shape: tuple[int, int],
    previous: torch.Tensor,
) -> torch.Tensor:
    """Refine the queries of one future frame for every candidate.

    Args:
        ctx: per layer, context keys and values (B, h, Lc, d).
        own: per layer, per-candidate keys and values (B, h, N, Lo, d), or None.
        angles: cos, sin (B, 1, P, d/2) of the target frame.
        embedding: (B, N, W) action embedding of this step, or None.
        shape: (B, N).
        previous: (B, N, P, D) the frame before (for residual predictors; broadcastable).

    Returns:
        (B, N, P, D) predicted features.
    """
    x = predictor.query.expand(*shape, predictor.num_patches, -1)
    for layer, block in enumerate(predictor.blocks):
        x = predictor.condition(layer, x, embedding)
        q = block.queries(x, *angles).transpose(1, 2)  # (B, h, N, P, d)
        own_k, own_v = own[layer] if own[layer] is not None else (None, None)
        attended = merged_attention(q, *ctx[layer], own_k, own_v)
        x = block.update(x, attended.transpose(1, 2))
    return predictor.output(x, previous)


def rollout_shared(
    predictor: Predictor, z: torch.Tensor, times: torch.Tensor, target_times: torch.Tensor,
    embeddings: torch.Tensor | None, num_candidates: int,
) -> torch.Tensor:
    """Roll out H steps for N candidates with context keys/values computed once per episode.

    Args:
        z: (B, T, P, D) context features.
        times: (B, T) context timestamps in seconds.
        target_times: (B, H) timestamps of the frames to predict.
        embeddings: (B, N, H, W) action embeddings (`Predictor.action_embedding`), or None.
        num_candidates: N (must match ``embeddings``).

    Returns:
        (B, N, H, P, D) predicted features.
    """
    shape = (z.shape[0], num_candidates)
    memory = predictor.frame_tokens(z)
    cos, sin = predictor.rope.angles(times)
    ctx = [block.keys_values(memory, cos, sin) for block in predictor.blocks]
    own: list[tuple[torch.Tensor, ...] | None] = [None] * len(predictor.blocks)
    preds = []
    for step in range(target_times.shape[1]):
        cos_t, sin_t = (a.unsqueeze(1) for a in predictor.rope.angles(target_times[:, step : step + 1]))
        embedding = None if embeddings is None else embeddings[:, :, step]
        previous = preds[-1] if preds else z[:, None, -1]  # (B, N | 1, P, D)
        preds.append(_decode_step(predictor, ctx, own, (cos_t, sin_t), embedding, shape, previous))
        if step + 1 < target_times.shape[1]:
            new_memory = predictor.frame_tokens(preds[-1].unsqueeze(2))  # (B, N, P, W)
            for layer, block in enumerate(predictor.blocks):
                k, v = (t.transpose(1, 2) for t in block.keys_values(new_memory, cos_t, sin_t))
                own[layer] = (k, v) if own[layer] is None else tuple(
                    torch.cat([old, new], 3) for old, new in zip(own[layer], (k, v)))
    return torch.stack(preds, 2)


def rollout_naive(
    predictor: Predictor, z: torch.Tensor, times: torch.Tensor, target_times: torch.Tensor,
    actions: torch.Tensor | None, proprio: torch.Tensor | None, num_candidates: int,
) -> torch.Tensor:
    """Reference rollout: one candidate at a time, full recomputation at every step.

    Args:
        z: (B, T, P, D) context features; times: (B, T); target_times: (B, H) seconds.
        actions: (B, N, H, A) normalised actions, or None; proprio: (B, N, H, Sp) or None.
        num_candidates: N.

    Returns:
        (B, N, H, P, D) predicted features.
    """
    candidates = []
    for n in range(num_candidates):
        seq, seq_times, preds = z, times, []
        for step in range(target_times.shape[1]):
            action = None if actions is None else actions[:, n, step]
            prop = None if proprio is None else proprio[:, n, step]
            preds.append(predictor.predict_at(seq, seq_times, target_times[:, step], action, prop))
            seq = torch.cat([seq, preds[-1].unsqueeze(1)], 1)
            seq_times = torch.cat([seq_times, target_times[:, step : step + 1]], 1)
        candidates.append(torch.stack(preds, 1))
    return torch.stack(candidates, 1)
