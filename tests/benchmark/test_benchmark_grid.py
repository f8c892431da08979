"""The benchmark grid end to end on tiny settings, its resume, and its stage list."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig
from safetensors.torch import load_file, save_file

from worldplan.benchmark.grid import all_stages, relevant_overrides, report_stages, stage_overrides
from worldplan.benchmark.report import write_report
from worldplan.benchmark.runner import RUN_LOG, STAGE_RECORD, run_benchmark, stages_to_run, warn_mixed_precision
from worldplan.benchmark.snapshot import restore, save
from worldplan.config import compose
from worldplan.data.collect import episode_seed
from worldplan.evaluate.runner import eval_episode_seed
from worldplan.models.checkpoint import MODEL_FILE
from worldplan.provenance import machine


def _bench(out: Path, *overrides: str) -> DictConfig:
    return compose("config", ["preset=tiny", f"benchmark.out={out}", *overrides]).benchmark


def test_stage_list_covers_the_grid(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "benchmark.envs=[wall,pointmaze]", "benchmark.baselines=[oracle,random]",
                   "benchmark.oracle_planners=null", "benchmark.oracle_envs=null")
    kinds = [s.kind for s in all_stages(bench)]
    envs, planners, inits, sizes, seeds = 2, 2, 2, 2, 1
    assert kinds.count("collect") == 2 * envs
    assert kinds.count("pretrain") == envs
    assert kinds.count("finetune") == envs * inits * sizes * seeds
    assert kinds.count("plan") == envs * (planners * inits * sizes * seeds + planners + 1)
    position = {s.output: i for i, s in enumerate(all_stages(bench))}
    for i, stage in enumerate(all_stages(bench)):  # every stage after the stages it reads
        assert all(position[needed] < i for needed in stage.inputs)


def test_shared_pretraining_serves_every_env(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "benchmark.envs=[wall,pointmaze]", "benchmark.pretrain_sources=all_envs")
    stages = all_stages(bench)
    (pretrain,) = [s for s in stages if s.kind == "pretrain"]
    assert set(pretrain.inputs) == {tmp_path / "wall/data/pretrain", tmp_path / "pointmaze/data/pretrain"}
    for finetune in (s for s in stages if s.kind == "finetune" and "train.init=pretrained" in s.overrides):
        assert pretrain.output in finetune.inputs


def test_report_covers_the_envs_other_processes_ran_in_the_same_folder(tmp_path: Path) -> None:
    """``benchmark.envs=[wall]`` beside ``[pointmaze]`` in one out folder: either process's report lists both."""
    (tmp_path / "pointmaze/data/train").mkdir(parents=True)
    (tmp_path / "pointmaze/data/train/meta.json").write_text("{}")
    for sources in ("own_env", "all_envs"):
        both = _bench(tmp_path, "benchmark.envs=[wall,pointmaze]", f"benchmark.pretrain_sources={sources}")
        one = _bench(tmp_path, "benchmark.envs=[wall,pointmaze]" if sources == "all_envs" else "benchmark.envs=[wall]",
                     f"benchmark.pretrain_sources={sources}", "benchmark.finetune_envs=[wall]")
        assert {s.env for s in all_stages(one) if s.kind == "plan"} == {"wall"}
        assert sorted(s.done_file for s in report_stages(one)) == sorted(s.done_file for s in all_stages(both))


def test_finetune_envs_keep_every_corpus_in_the_shared_pretraining(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "benchmark.envs=[wall,pointmaze]", "benchmark.pretrain_sources=all_envs",
                   "benchmark.finetune_envs=[wall]")
    stages = all_stages(bench)
    (pretrain,) = [s for s in stages if s.kind == "pretrain"]
    assert set(pretrain.inputs) == {tmp_path / "wall/data/pretrain", tmp_path / "pointmaze/data/pretrain"}
    assert {s.env for s in stages if s.kind in ("finetune", "plan")} == {"wall"}
    with pytest.raises(ValueError, match="finetune_envs has \\['reacher'\\]"):
        all_stages(_bench(tmp_path, "benchmark.envs=[wall]", "benchmark.finetune_envs=[reacher]"))


def test_oracle_runs_only_where_asked(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "benchmark.envs=[wall,pointmaze]", "benchmark.baselines=[oracle]",
                   "benchmark.oracle_envs=[wall]", "benchmark.oracle_planners=[mppi]", "benchmark.baseline_episodes=3")
    oracles = [s for s in all_stages(bench) if s.cell.get("model") == "oracle"]
    assert [(s.env, s.cell["planner"]) for s in oracles] == [("wall", "mppi")]
    assert "eval.episodes=3" in oracles[0].overrides


def test_pretraining_corpus_is_disjoint_from_finetuning_data(tmp_path: Path) -> None:
    bench = _bench(tmp_path)
    train, corpus = [s for s in all_stages(bench) if s.kind == "collect"]
    assert "seed=0" in train.overrides and f"seed={bench.corpus_seed_offset}" in corpus.overrides


def test_the_cpu_preset_seeds_never_share_an_episode(tmp_path: Path) -> None:
    bench = compose("config", [f"benchmark.out={tmp_path}"]).benchmark
    train = {episode_seed(0, i) for i in range(max(bench.sizes) + bench.validation_episodes)}
    corpus = {episode_seed(bench.corpus_seed_offset, i) for i in range(bench.pretrain_episodes)}
    tasks = {eval_episode_seed(seed, i) for seed in bench.seeds for i in range(bench.baseline_episodes)}
    assert len(train) + len(corpus) + len(tasks) == len(train | corpus | tasks)


def _assert_disjoint_episodes(root: Path, episodes: list[dict]) -> None:
    """The recorded seeds of the fine-tuning data, the corpus and the evaluation tasks never coincide, and
    every fine-tuned model's validation episodes are outside its training episodes."""
    train, corpus = ({e["seed"] for e in json.loads((root / f"data/{name}/meta.json").read_text())["episodes"]}
                     for name in ("train", "pretrain"))
    tasks = {e["task_seed"] for e in episodes}
    assert train and corpus and tasks and not (train & corpus) and not (tasks & (train | corpus))
    for metrics in root.glob("checkpoints/*/metrics.json"):
        split = json.loads(metrics.read_text())["split"]
        assert split["val"] and not set(split["train"]) & set(split["val"])


def test_unknown_baseline_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="baselines"):
        all_stages(_bench(tmp_path, "benchmark.baselines=[oracel]"))


def test_a_resumed_run_skips_what_only_finished_stages_needed(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "benchmark.planners=[cem]", "benchmark.sizes=[2]", "benchmark.baselines=[]")
    stages = all_stages(bench)
    plans = [s for s in stages if s.kind == "plan"]
    pretrained_plan, scratch_plan = plans
    finished = scratch_plan  # as restored from committed results
    finished.output.mkdir(parents=True)
    finished.done_file.write_text("{}")
    (finished.output / STAGE_RECORD).write_text(json.dumps({"overrides": stage_overrides(bench, finished)}))
    todo = stages_to_run(bench, stages)
    pretrained, scratch = [s for s in stages if s.kind == "finetune"]
    assert pretrained_plan in todo and scratch_plan not in todo
    assert pretrained in todo and scratch not in todo  # the finished evaluation's checkpoint is not remade
    assert {s.kind for s in todo} == {"collect", "pretrain", "finetune", "plan"}
    assert [s.kind for s in stages_to_run(bench, [scratch, scratch_plan])] == []


def test_a_stage_nothing_needs_is_not_checked_so_a_process_beside_may_be_writing_it(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "benchmark.planners=[cem]", "benchmark.sizes=[2]", "benchmark.baselines=[]")
    stages = all_stages(bench)
    pretrained_finetune, scratch_finetune = [s for s in stages if s.kind == "finetune"]
    scratch_plan = [s for s in stages if s.kind == "plan"][1]
    for stage in (scratch_finetune, scratch_plan):  # finished, with the settings they run with now
        stage.output.mkdir(parents=True)
        stage.done_file.write_text("{}")
        (stage.output / MODEL_FILE).write_text("")
        (stage.output / STAGE_RECORD).write_text(json.dumps({"overrides": stage_overrides(bench, stage)}))
    pretrained_finetune.output.mkdir(parents=True)
    pretrained_finetune.done_file.write_text("{}")  # being written by another process: no record yet
    (pretrained_finetune.output / MODEL_FILE).write_text("")
    assert stages_to_run(bench, [pretrained_finetune, scratch_finetune, scratch_plan]) == []
    with pytest.raises(ValueError, match="made with other settings"):  # where it is needed, it is checked
        stages_to_run(bench, stages)


@pytest.mark.parametrize("finished_in, warned", [("bf16", True), ("fp32", False), (None, False)])
def test_a_fine_tune_to_run_in_another_precision_than_the_finished_ones_is_warned_of(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, finished_in: str | None, warned: bool) -> None:
    bench = _bench(tmp_path, "benchmark.planners=[cem]", "benchmark.sizes=[2]", "benchmark.baselines=[]")
    stages = all_stages(bench)
    to_run, finished = [s for s in stages if s.kind == "finetune"]
    finished.output.mkdir(parents=True)
    finished.done_file.write_text(json.dumps({"precision": finished_in}))  # None: a record older than precision
    with caplog.at_level("WARNING"):
        warn_mixed_precision(bench, stages, [to_run])  # this CPU trains in fp32 (train.amp=auto)
    assert ("finished fine-tunes trained in bf16; here the remaining ones would train in fp32" in caplog.text) == warned


def test_a_stage_is_compared_only_by_the_settings_it_reads(tmp_path: Path) -> None:
    overrides = ["encoder.image_size=56", "planner.iterations=5", "++train.pretrain.steps=5", "data.steps=9", "seed=1"]
    assert relevant_overrides("collect", overrides) == {"data.steps": "9", "seed": "1"}
    assert relevant_overrides("finetune", overrides) == {"encoder.image_size": "56", "seed": "1"}
    assert relevant_overrides("pretrain", overrides) == {"encoder.image_size": "56", "train.pretrain.steps": "5",
                                                         "seed": "1"}
    assert relevant_overrides("plan", [*overrides, "seed=2"])["seed"] == "2"  # the last override of a key wins
    assert relevant_overrides("plan", overrides[::-1]) == relevant_overrides("plan", overrides)


def test_each_planner_gets_its_own_budget_overrides(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "benchmark.planners=[cem,gd]", '+benchmark.planner_overrides.gd=["planner.steps=3"]')
    plans = {s.cell["planner"]: s for s in all_stages(bench) if s.cell.get("model") == "pretrained"}
    assert "planner.steps=3" in plans["gd"].overrides and "planner.steps=3" not in plans["cem"].overrides


def test_tiny_grid_runs_end_to_end_and_resumes(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "benchmark.planners=[cem]", "benchmark.sizes=[2]")
    spent = run_benchmark(bench, progress=False)
    assert set(spent) == {"collect", "pretrain", "finetune", "plan"}
    rows = write_report(tmp_path, all_stages(bench))
    models = {(r["planner"], r["model"]) for r in rows}
    assert models == {("cem", "pretrained"), ("cem", "scratch"), ("random", "random")}
    episodes = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(episodes) == 3 * 2 and {e["model"] for e in episodes} == {"pretrained", "scratch", "random"}
    assert (tmp_path / "results.md").read_text().count("\n") == 2 + len(rows)
    assert (tmp_path / "success_vs_size_wall.png").stat().st_size > 0
    validation = [json.loads(line) for line in (tmp_path / "validation.jsonl").read_text().splitlines()]
    runs = sorted((v["init"], v["size"], len(v["model_mse"])) for v in validation)
    assert runs == [("pretrained", 2, 2), ("scratch", 2, 2)]  # tiny eval_horizon
    assert "pretrained" in (tmp_path / "efficiency.md").read_text()
    assert {v["precision"] for v in validation} == {"fp32"}  # train.amp=auto on a CPU
    assert "Fine-tunes trained in: fp32 (2)." in (tmp_path / "efficiency.md").read_text()
    times = json.loads((tmp_path / "run_times.json").read_text())
    assert {kind: times[kind]["stages"] for kind in spent} == {"collect": 2, "pretrain": 1, "finetune": 2, "plan": 3}
    assert times["by_env"]["wall"] == {kind: times[kind] for kind in spent}  # one env: its times are the run's
    assert times["machines"] == [machine()]  # every stage record names the machine that timed it
    _assert_disjoint_episodes(tmp_path / "wall", episodes)
    assert run_benchmark(bench, progress=False) == {}  # everything finished: nothing re-runs
    assert (tmp_path / RUN_LOG).read_text().count(" stages, ") == 2  # the second run appended to the first's log
    changed = _bench(tmp_path, "benchmark.planners=[cem]", "benchmark.sizes=[2]", "benchmark.corpus_seed_offset=5")
    with pytest.raises(ValueError, match="other settings"):
        run_benchmark(changed, progress=False)
    kept = tmp_path / "committed"
    save(tmp_path, kept)  # results and the pretrained predictor committed, data not: a later session resumes
    assert (kept / RUN_LOG).read_text() == (tmp_path / RUN_LOG).read_text()
    pretrained = tmp_path / "wall/checkpoints/pretrain/model.safetensors"
    trained = load_file(str(pretrained))
    assert not any(k.startswith("encoder.") for k in load_file(str(kept / "run/wall/checkpoints/pretrain/"
                                                                     "predictor.safetensors")))
    shutil.rmtree(tmp_path / "wall")
    (tmp_path / RUN_LOG).unlink()
    restore(tmp_path, kept)
    assert (tmp_path / RUN_LOG).read_text() == (kept / RUN_LOG).read_text()  # a resumed run appends to it
    assert stages_to_run(bench, all_stages(bench)) == []
    scratch_eval = next(s for s in all_stages(bench) if s.kind == "plan" and s.cell.get("model") == "scratch")
    shutil.rmtree(scratch_eval.output)  # unfinished: its fine-tune, restored without weights, runs again
    assert run_benchmark(bench, progress=False).keys() == {"collect", "finetune", "plan"}
    assert len(write_report(tmp_path, all_stages(bench))) == len(rows)
    again = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    untimed = [{k: v for k, v in e.items() if k != "plan_seconds"} for e in (again, episodes) for e in e]
    assert untimed[: len(again)] == untimed[len(again) :]  # the fine-tune made again: the same model and episodes
    restored = load_file(str(pretrained))  # the seeded random encoder rebuilt, checked by its SHA-256
    assert restored.keys() == trained.keys() and all(torch.equal(restored[k], trained[k]) for k in trained)
    predictor = kept / "run/wall/checkpoints/pretrain/predictor.safetensors"
    save_file(load_file(str(predictor)), str(predictor), metadata={"encoder_sha256": "0" * 64})
    with pytest.raises(ValueError, match="differs from the one it was trained with"):
        restore(tmp_path, kept)
    assert len(write_report(tmp_path, all_stages(bench))) == len(rows)


def test_display_only_settings_never_make_a_finished_stage_stale() -> None:
    shown = relevant_overrides("finetune", ["train.steps=5", "train.progress=true", "train.tensorboard=false"])
    hidden = relevant_overrides("finetune", ["train.steps=5", "train.progress=false"])
    assert shown == hidden == {"train.steps": "5"}


def test_two_jobs_run_the_tiny_grid_to_the_same_results_as_one(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", str(torch.get_num_threads()))  # workers compute like this process
    outcomes = []
    for name, jobs in (("serial", 1), ("parallel", 2)):
        bench = _bench(tmp_path / name, "benchmark.planners=[cem]", "benchmark.sizes=[2]", f"benchmark.jobs={jobs}")
        assert set(run_benchmark(bench, progress=False)) == {"collect", "pretrain", "finetune", "plan"}
        assert stages_to_run(bench, all_stages(bench)) == []
        write_report(tmp_path / name, all_stages(bench))
        log = (tmp_path / name / RUN_LOG).read_text()  # the workers' records too, each with its time
        assert log.count(": done in ") == len(all_stages(bench)) and "INFO worldplan.data.features" in log
        episodes = [json.loads(line) for line in (tmp_path / name / "episodes.jsonl").read_text().splitlines()]
        outcomes.append([(e["model"], e["task_seed"], e["success"]) for e in episodes])
    assert outcomes[0] == outcomes[1]


def test_a_training_stage_ignores_the_other_stages_settings_so_a_pretraining_variant_keeps_the_finetunes() -> None:
    overrides = ["train.steps=7", "train.pretrain.feature_stats=per_source", "train.finetune.episodes=30"]
    assert relevant_overrides("finetune", overrides) == {"train.steps": "7", "train.finetune.episodes": "30"}
    assert relevant_overrides("pretrain", overrides) == {"train.steps": "7",
                                                         "train.pretrain.feature_stats": "per_source"}


def test_extra_overrides_come_after_the_common_ones_and_before_the_stage_own(tmp_path: Path) -> None:
    bench = _bench(tmp_path, 'benchmark.extra_overrides=["train.proprio=true"]')
    finetune = next(s for s in all_stages(bench) if s.kind == "finetune")
    overrides = stage_overrides(bench, finetune)
    common = list(bench.overrides)
    assert overrides == [*common, "train.proprio=true", *finetune.overrides]
    assert relevant_overrides("finetune", overrides)["train.proprio"] == "true"  # a variant re-runs fine-tunes
    assert "train.proprio" not in relevant_overrides("collect", overrides)  # and keeps its datasets


def test_init_overrides_change_only_that_inits_finetunes(tmp_path: Path) -> None:
    bench = _bench(tmp_path, 'benchmark.init_overrides.pretrained=["train.mode=actions"]')
    stages = all_stages(bench)
    finetunes = {s.output.name: s for s in stages if s.kind == "finetune"}  # pretrained-n2-s0, scratch-n2-s0, ...
    for name, stage in finetunes.items():
        assert ("train.mode=actions" in stage.overrides) == name.startswith("pretrained"), name
    assert not any("train.mode=actions" in s.overrides for s in stages if s.kind != "finetune")
    plain = {s.output.name: s.overrides for s in all_stages(_bench(tmp_path)) if s.kind == "finetune"}
    assert all(plain[name] == s.overrides for name, s in finetunes.items() if name.startswith("scratch"))
