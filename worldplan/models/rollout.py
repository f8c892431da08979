"""Autoregressive rollouts of a `Predictor` over N candidate action sequences per episode.

Axis legend: B episodes, N candidates, T context frames, H horizon (model steps), P patches,
D feature size, W predictor width, A action size, Sp proprioception size, h heads, d head size,
Lc context tokens (T * P), Lo tokens of frames predicted so far.

`rollout_shared` computes the context frames' keys and values once per episode and layer and lets
all N candidates read them (the N query sets are stacked along the query axis, so the shared
memory is never copied); only the keys and values of the frames each candidate predicts are per
candidate. The two parts are merged in one softmax. Only what the caller reads is returned
(``last_only``), and predictions stay standardised between steps. `rollout_naive` loops over candidates and calls
`Predictor.refine_at` on the growing sequence, recomputing everything: the reference the shared
rollout is tested against, and the baseline of ``benchmarks/rollout.py``.

A predictor built with proprioception is given the proprioception of the last context frame for the
first step; every later step is given the one the predictor itself predicted for its last frame
(`Predictor.proprio_output`), and the predictions are returned with the features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from worldplan.models.predictor import Predictor


def merged_attention(
    q: torch.Tensor, ctx_k: torch.Tensor, ctx_v: torch.Tensor, own_k: torch.Tensor | None, own_v: torch.Tensor | None
) -> torch.Tensor:
    """Softmax attention over shared context keys plus per-candidate keys, as one distribution.

    The N candidates' queries are stacked along the query axis for the shared part, so one matmul
    per head reads the context keys and values without copying them N times. The two parts share
    one max and one normaliser instead of a concatenated score tensor: no copy of the scores, and
    the normalisation is applied to the (B, h, N, P, d) output rather than to the larger weights.

    Args:
        q: (B, h, N, P, d) queries (N = 1 or P = 1 broadcast against the keys' batch).
        ctx_k, ctx_v: (B, h, Lc, d) shared by the N candidates.
        own_k, own_v: (B, h, N, Lo, d) per candidate, or None before the first prediction.

    Returns:
        (B, h, N, P, d) attention output.
    """
    b, h, n, p, d = q.shape
    flat_q = q.reshape(b, h, n * p, d)
    if own_k is None:
        return F.scaled_dot_product_attention(flat_q, ctx_k, ctx_v).view(b, h, n, p, d)
    q = q * d**-0.5  # scale the queries, not the larger score tensors
    scores_ctx = (q.reshape(b, h, n * p, d) @ ctx_k.transpose(-1, -2)).view(b, h, n, p, -1)  # (B, h, N, P, Lc)
    scores_own = q @ own_k.transpose(-1, -2)  # (B, h, N, P, Lo)
    # The shift only keeps exp() finite; softmax does not depend on it, so it needs no gradient.
    top = torch.maximum(scores_ctx.amax(-1, keepdim=True), scores_own.amax(-1, keepdim=True)).detach()
    weights_ctx, weights_own = scores_ctx.sub_(top).exp_(), scores_own.sub_(top).exp_()
    total = weights_ctx.sum(-1, keepdim=True) + weights_own.sum(-1, keepdim=True)  # (B, h, N, P, 1)
    shared = (weights_ctx.view(b, h, n * p, -1) @ ctx_v).view(b, h, n, p, d)
    return (shared + weights_own @ own_v) / total


def _decode_step(
    predictor: Predictor, ctx: list[tuple[torch.Tensor, torch.Tensor]], own: list[tuple[torch.Tensor, ...] | None],
    angles: tuple[torch.Tensor, torch.Tensor], embedding: torch.Tensor | None, shape: tuple[int, int],
) -> torch.Tensor:
    """Refine the queries of one future frame for every candidate.

    Args:
        ctx: per layer, context keys and values (B, h, Lc, d).
        own: per layer, per-candidate keys and values (B, h, N, Lo, d), or None.
        angles: cos, sin (B, 1, P, d/2) of the target frame.
        embedding: (B, N, W) action embedding of this step, or None.
        shape: (B, N).

    Returns:
        (B, N, P, W) refined queries (`Predictor.standardized_output` maps them to features).
    """
    # Until RoPE places them, the P queries of a candidate are one vector: layer 0 normalises and
    # projects it once per candidate, and the patch axis appears when the angles broadcast.
    x = predictor.query.expand(*shape, 1, -1)  # (B, N, 1, W)
    for layer, block in enumerate(predictor.blocks):
        x = predictor.condition(layer, x, embedding)
        q = block.queries(x, *angles).transpose(1, 2)  # (B, h, N, P, d)
        own_k, own_v = own[layer] if own[layer] is not None else (None, None)
        attended = merged_attention(q, *ctx[layer], own_k, own_v)
        x = block.update(x, attended.transpose(1, 2))  # (B, N, P, W)
    return x


def rollout_shared(
    predictor: Predictor, z: torch.Tensor, times: torch.Tensor, target_times: torch.Tensor,
    actions: torch.Tensor | None, proprio: torch.Tensor | None, num_candidates: int, *, last_only: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Roll out H steps for N candidates with context keys/values computed once per episode.

    Predictions stay in standardised units from one step to the next (they are the next step's
    memory); only the returned ones are mapped back to raw features. A non-residual predictor's
    intermediate frames go from refined queries to memory tokens through one fused (W, W) map
    (`Predictor.predicted_frame_projection`), never through the feature size D.

    Args:
        z: (B, T, P, D) context features.
        times: (B, T) context timestamps in seconds.
        target_times: (B, H) timestamps of the frames to predict.
        actions: (B, N, H, A) normalised actions, or None (action-free).
        proprio: (B, Sp) normalised proprioception at the last context frame, if the predictor takes it.
        num_candidates: N (must match ``actions``).
        last_only: return only the last step's prediction (what a last-step cost reads).

    Returns:
        (B, N, H', P, D) predicted features and, with ``proprio``, (B, N, H', Sp) predicted normalised
        proprioception (else None); H' = 1 with ``last_only``, else H.
    """
    shape, horizon = (z.shape[0], num_candidates), target_times.shape[1]
    z_std = predictor.standardize(z)
    memory = predictor.in_proj(z_std).flatten(1, 2)  # (B, T * P, W)
    cos, sin = predictor.rope.angles(times)
    ctx = [block.keys_values(memory, cos, sin) for block in predictor.blocks]
    own: list[tuple[torch.Tensor, ...] | None] = [None] * len(predictor.blocks)
    residual = predictor.arch["residual"]
    fused = None if residual or horizon == 1 else predictor.predicted_frame_projection()
    previous, kept = z_std[:, None, -1], []  # (B, 1, P, D), then (B, N, P, D)
    prop, kept_prop = None if proprio is None else proprio[:, None].expand(*shape, -1), []  # (B, N, Sp)
    for step in range(horizon):
        cos_t, sin_t = (a.unsqueeze(1) for a in predictor.rope.angles(target_times[:, step : step + 1]))
        embedding = None if actions is None else predictor.action_embedding(actions[:, :, step], prop)
        x = _decode_step(predictor, ctx, own, (cos_t, sin_t), embedding, shape)
        keep = not last_only or step + 1 == horizon
        if residual or keep:
            previous = predictor.standardized_output(x, previous)  # (B, N, P, D)
            kept += [previous] if keep else []
        if prop is not None:
            prop = predictor.proprio_output(x)  # (B, N, Sp), the next step's input
            kept_prop += [prop] if keep else []
        if step + 1 < horizon:
            new_memory = predictor.in_proj(previous) if fused is None else F.linear(predictor.norm(x), *fused)
            for layer, block in enumerate(predictor.blocks):
                k, v = (t.transpose(1, 2) for t in block.keys_values(new_memory, cos_t, sin_t))
                own[layer] = (k, v) if own[layer] is None else tuple(
                    torch.cat([old, new], 3) for old, new in zip(own[layer], (k, v)))
    return predictor.destandardize(torch.stack(kept, 2)), torch.stack(kept_prop, 2) if kept_prop else None


def rollout_naive(
    predictor: Predictor, z: torch.Tensor, times: torch.Tensor, target_times: torch.Tensor,
    actions: torch.Tensor | None, proprio: torch.Tensor | None, num_candidates: int,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Reference rollout: one candidate at a time, full recomputation at every step.

    Args:
        z: (B, T, P, D) context features; times: (B, T); target_times: (B, H) seconds.
        actions: (B, N, H, A) normalised actions, or None.
        proprio: (B, Sp) normalised proprioception at the last context frame, or None.
        num_candidates: N.

    Returns:
        (B, N, H, P, D) predicted features and (B, N, H, Sp) predicted proprioception (None without).
    """
    candidates, candidate_props = [], []
    for n in range(num_candidates):
        seq, seq_times, prop, preds, props = z, times, proprio, [], []
        for step in range(target_times.shape[1]):
            action = None if actions is None else actions[:, n, step]
            x = predictor.refine_at(seq, seq_times, target_times[:, step], action, prop)
            preds.append(predictor.output(x, seq[:, -1]))
            if proprio is not None:
                prop = predictor.proprio_output(x)
                props.append(prop)
            seq = torch.cat([seq, preds[-1].unsqueeze(1)], 1)
            seq_times = torch.cat([seq_times, target_times[:, step : step + 1]], 1)
        candidates.append(torch.stack(preds, 1))
        candidate_props += [torch.stack(props, 1)] if props else []
    return torch.stack(candidates, 1), torch.stack(candidate_props, 1) if candidate_props else None
