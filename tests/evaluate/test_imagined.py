"""The imagined panel: plans' predictions recorded only for video episodes, drawn only when videos are
written (never inside the planning cost), aligned to the frames, and the nearest-frame stand-in."""

from __future__ import annotations

import json

import numpy as np
import torch
from eval_fakes import SIDE, DotEnv, DotModel

from worldplan.data.episodes import DatasetMeta, Episode, EpisodeWriter
from worldplan.data.features import encode_dataset
from worldplan.data.video import TITLE_BAR
from worldplan.envs.base import GoalTask
from worldplan.evaluate import mpc
from worldplan.evaluate.episode import EpisodeResult
from worldplan.evaluate.imagined import ImaginedSource, decoder_source, imagined_video, neighbour_source
from worldplan.evaluate.report import write_episode_videos
from worldplan.models.decoder import PatchDecoder, save_decoder
from worldplan.planners import CEM

DOT_IDENTITY = {"model": "dot-positions"}  # the fake encoder's identity: DotModel.encode


class DotEncoder:
    """DotModel's encoding as a feature-cache encoder: (n, S, S, 3) uint8 -> (n, 1, 2)."""

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        return DotModel().encode(frames[:, None])[:, 0]

    def identity(self) -> dict:
        return DOT_IDENTITY

    def cache_key(self) -> str:
        return "dot"


def _tasks(envs: list[DotEnv]) -> list[GoalTask]:
    tasks = []
    for seed, (env, goal) in enumerate(zip(envs, [(0.3, 0.0), (0.0, -0.3)])):
        start, goal = np.zeros(2, np.float32), np.array(goal, np.float32)
        tasks.append(GoalTask(start_state=start, goal_state=goal, goal_image=env.render_state(goal), seed=seed,
                              offset=0))
        env.set_state(start)
    return tasks


def test_the_planning_cost_never_calls_the_decoder_and_only_video_episodes_imagine(tmp_path, monkeypatch):
    calls = {"cost": 0, "decoder": 0, "decoder_in_cost": 0}
    in_cost = False
    make_cost_fn, forward = mpc.make_cost_fn, PatchDecoder.forward

    class SpiedCost:
        """The loop's cost function, noting when it runs (other attributes pass through)."""

        def __init__(self, cost_fn):
            self.cost_fn = cost_fn

        def __call__(self, actions):
            nonlocal in_cost
            calls["cost"], in_cost = calls["cost"] + 1, True
            try:
                return self.cost_fn(actions)
            finally:
                in_cost = False

        def __getattr__(self, name):
            return getattr(self.cost_fn, name)

    def spying_forward(self, z):
        calls["decoder"] += 1
        calls["decoder_in_cost"] += in_cost
        return forward(self, z)

    monkeypatch.setattr(mpc, "make_cost_fn", lambda *args, **kwargs: SpiedCost(make_cost_fn(*args, **kwargs)))
    monkeypatch.setattr(PatchDecoder, "forward", spying_forward)
    decoder = PatchDecoder(feature_dim=2, grid=(1, 1), image_size=SIDE, width=4)
    path = save_decoder(tmp_path / "decoder", decoder, encoder_identity=DOT_IDENTITY, meta={})
    source = decoder_source(path, encoder_identity=DOT_IDENTITY, device=torch.device("cpu"))
    envs = [DotEnv(), DotEnv()]
    planner = CEM(horizon=2, num_samples=16, num_elites=4, iterations=2, action_low=[-1, -1], action_high=[1, 1])
    kept, other = mpc.run_episodes(envs, _tasks(envs), planner, DotModel(), frameskip=1, max_env_steps=6,
                                   keep_frames=[True, False], imagine=True)
    assert calls["cost"] > 0 and calls["decoder"] == 0
    plans = len(kept.plan_seconds)
    assert kept.imagined.shape == (plans, 1, 2) and kept.imagined_steps == tuple(range(plans))
    assert other.imagined is None and other.imagined_steps == ()
    [video] = write_episode_videos(tmp_path / "videos", [kept, other], count=1, fps=10, metadata={}, imagined=source)
    assert calls["decoder"] > 0 and calls["decoder_in_cost"] == 0
    sidecar = json.loads(video.with_name(video.name + ".json").read_text())
    assert sidecar["source_size"] == [TITLE_BAR + SIDE, 3 * SIDE]
    assert sidecar["imagined"]["panel"] == "decoded" and sidecar["imagined"]["source"] == "decoder"


def test_each_frame_shows_the_latest_plan_made_by_then_at_the_frame_size():
    frames = np.zeros((5, 4, 4, 3), np.uint8)
    result = EpisodeResult(index=0, seed=0, success=False, steps=4, final_state_distance=0.0,
                           final_latent_distance=0.0, plan_seconds=[0.1, 0.1], cost_traces=[[1.0], [1.0]],
                           evaluations=2, frames=frames, goal_image=frames[0],
                           imagined=np.array([[[10.0]], [[20.0]]], np.float32), imagined_steps=(0, 3))
    def flat_frames(z):  # each latent as a flat 2-px frame of its value
        return np.broadcast_to(z.reshape(-1, 1, 1, 1), (len(z), 2, 2, 3)).astype(np.uint8)

    source = ImaginedSource(title="t", record={}, render=flat_frames)
    video = imagined_video(result, source)
    assert video.shape == (5, 4, 4, 3)
    assert [int(v.min()) for v in video] == [int(v.max()) for v in video] == [10, 10, 10, 20, 20]


def test_nearest_frames_are_the_dataset_frames_whose_cached_features_are_closest(tmp_path):
    env = DotEnv()
    meta = DatasetMeta(env_id="worldplan_test/Dot-v0", env_kwargs={}, image_size=SIDE, action_low=[-1.0, -1.0],
                       action_high=[1.0, 1.0], state_dim=2, fps=10.0, policy="random", noise=0.0, max_steps=3,
                       base_seed=0)
    writer = EpisodeWriter(tmp_path / "data", meta)
    for seed in range(2):
        states = np.random.default_rng(seed).uniform(-0.9, 0.9, (4, 2)).astype(np.float32)
        frames = np.stack([env.render_state(s) for s in states])
        writer.add(Episode(frames=frames, actions=np.zeros((3, 2), np.float32), states=states, seed=seed))
    dataset = writer.dataset()
    encode_dataset(dataset, DotEncoder(), batch_size=8, device="cpu", progress=False)
    source = neighbour_source(tmp_path / "data", encoder_identity=DOT_IDENTITY, device=torch.device("cpu"))
    wanted = [dataset[1].frames[2], dataset[0].frames[0]]
    z = DotEncoder()(torch.from_numpy(np.stack(wanted))).numpy() + 0.004  # near, not on, those frames' features
    np.testing.assert_array_equal(source.render(z), np.stack(wanted))
    assert source.title == "nearest" and source.record["source"] == "nearest_dataset_frame"
