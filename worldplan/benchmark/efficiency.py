"""The data-efficiency report: pretrained vs scratch against fine-tuning set size, from per-episode JSONL.

Everything here reads the files a benchmark leaves (or that were committed from one), never the run
folders, so ``worldplan report path=<dir>`` regenerates the tables and figures from
``<dir>/episodes.jsonl`` (one line per episode, tagged with env, planner, model, size, seed) and
``<dir>/validation.jsonl`` (one line per fine-tuned model: held-out latent error per rollout step).

Pairs: pretrained and scratch models of the same (env, planner, size, seed) planned the same goal
tasks (episode ``index`` i of a cell has the same task seed for both), so each size gets the paired
difference of `paired.paired_difference`. The headline per (env, planner) is the data-efficiency
factor: the largest size divided by the smallest size at which pretrained matches scratch at the
largest size (none when scratch at the largest size is not above random actions beyond noise).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402

from worldplan.atomic import write_text_atomic  # noqa: E402
from worldplan.benchmark.paired import paired_difference  # noqa: E402
from worldplan.evaluate.metrics import markdown_table, wilson_interval  # noqa: E402

EPISODES_FILE = "episodes.jsonl"
VALIDATION_FILE = "validation.jsonl"
REPORT_FILE = "efficiency.md"
INITS = ("pretrained", "scratch")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSONL file as a dict ([] when the file does not exist)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line] if path.exists() else []


def success_rows(episodes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (env, planner, model, size): pooled success over seeds, its seed spread and counts."""
    groups: dict[tuple, dict[int, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for e in episodes:
        groups[(e["env"], e["planner"], e["model"], e["size"])][e["seed"]].append(bool(e["success"]))
    rows = []
    for (env, planner, model, size), by_seed in groups.items():
        outcomes = [s for seed_outcomes in by_seed.values() for s in seed_outcomes]
        rates = [float(np.mean(v)) for v in by_seed.values()]
        rows.append({"env": env, "planner": planner, "model": model, "size": size, "seeds": len(by_seed),
                     "episodes": len(outcomes), "success": float(np.mean(outcomes)),
                     "success_min": min(rates), "success_max": max(rates)})
    order = {"pretrained": 0, "scratch": 1, "oracle": 2, "random": 3}
    return sorted(rows, key=lambda r: (r["env"], r["planner"], order.get(r["model"], 9), r["size"] or 0))


def paired_outcomes(episodes: Iterable[dict[str, Any]], env: str, planner: str, size: int
                    ) -> tuple[list[bool], list[bool]]:
    """Pretrained and scratch successes on the same tasks: pairs keyed by (seed, episode index).

    Raises:
        ValueError: a pair's two episodes had different task seeds (the evaluations were not paired).
    """
    found: dict[tuple[str, int, int], dict[str, Any]] = {}
    for e in episodes:
        if (e["env"], e["planner"], e["size"]) == (env, planner, size) and e["model"] in INITS:
            found[(e["model"], e["seed"], e["index"])] = e
    keys = sorted(k[1:] for k in found if k[0] == INITS[0] and (INITS[1], *k[1:]) in found)
    for key in keys:
        if found[(INITS[0], *key)]["task_seed"] != found[(INITS[1], *key)]["task_seed"]:
            raise ValueError(f"{env} {planner} size {size} seed {key[0]} episode {key[1]}: pretrained and scratch "
                             "planned different tasks; the comparison is not paired")
    pretrained, scratch = ([bool(found[(init, *k)]["success"]) for k in keys] for init in INITS)
    return pretrained, scratch


def size_table(episodes: Sequence[dict[str, Any]], env: str) -> list[dict[str, Any]]:
    """Per (planner, size) of one env: pretrained, scratch, paired difference [95 %], McNemar p, bounds."""
    rows = success_rows(episodes)
    rate = {(r["planner"], r["model"], r["size"]): r for r in rows if r["env"] == env}
    random_row = next((r for r in rows if r["env"] == env and r["model"] == "random"), None)
    random = None if random_row is None else random_row["success"]
    table = []
    for planner, size in sorted({(p, s) for p, m, s in rate if m in INITS}):
        a, b = paired_outcomes(episodes, env, planner, size)
        row: dict[str, Any] = {"planner": planner, "size": size}
        for init in INITS:
            found = rate.get((planner, init, size))
            row[init] = None if found is None else found["success"]
            row[f"{init}_episodes"] = None if found is None else found["episodes"]
        if a:  # the success columns too over the paired tasks only, while a run still misses some cells
            paired = paired_difference(a, b)
            row.update({INITS[0]: float(np.mean(a)), INITS[1]: float(np.mean(b)), "pairs": paired["pairs"],
                        f"{INITS[0]}_episodes": len(a), f"{INITS[1]}_episodes": len(b),
                        "difference": paired["difference"], "ci95": paired["ci95"], "mcnemar_p": paired["mcnemar_p"]})
        oracle = rate.get((planner, "oracle", None))
        row.update({"oracle": None if oracle is None else oracle["success"], "random": random,
                    "random_episodes": None if random_row is None else random_row["episodes"]})
        table.append(row)
    return table


def efficiency_factor(table: Sequence[dict[str, Any]], planner: str) -> dict[str, Any] | None:
    """Smallest size from which pretrained matches scratch at the largest size, and largest / that size.

    The match must hold at that size and at every larger one with a pretrained result: a lucky small
    size followed by a miss does not count.

    When scratch at the largest size is not above random actions beyond noise (their Wilson 95 % intervals
    overlap) there is nothing to match: ``matched_at`` and ``factor`` are None and ``scratch_beats_random``
    is False (None without a random row).
    Returns None when the planner has no scratch result at its largest size.
    """
    rows = sorted((r for r in table if r["planner"] == planner), key=lambda r: r["size"])
    if not rows or rows[-1]["scratch"] is None:
        return None
    last = rows[-1]
    largest, target, random = last["size"], last["scratch"], last["random"]
    beats_random = None if random is None else _above(target, last["scratch_episodes"], random,
                                                      last["random_episodes"])
    matched = None
    for row in reversed(rows if beats_random is not False else []):  # from the largest size down
        if row["pretrained"] is not None:
            if row["pretrained"] < target:
                break
            matched = row["size"]
    return {"planner": planner, "largest": largest, "scratch_at_largest": target, "random": random,
            "scratch_beats_random": beats_random, "pretrained_sizes": sum(r["pretrained"] is not None for r in rows),
            "matched_at": matched,
            "factor": None if matched is None else largest / matched}


def _above(rate: float, episodes: int, other: float, other_episodes: int) -> bool:
    """Whether a success rate's Wilson 95 % interval lies wholly above another's."""
    low, _ = wilson_interval(round(rate * episodes), episodes)
    _, high = wilson_interval(round(other * other_episodes), other_episodes)
    return low > high


def validation_table(records: Sequence[dict[str, Any]], env: str) -> list[dict[str, Any]]:
    """Held-out latent MSE per rollout step, mean over seeds, per (size, init) of one env."""
    groups: dict[tuple[int, str], list[list[float]]] = defaultdict(list)
    copy_last: list[list[float]] = []
    for r in records:
        if r["env"] == env:
            groups[(r["size"], r["init"])].append(r["model_mse"])
            copy_last.append(r["copy_last_mse"])
    table = [{"size": size, "init": init, "seeds": len(errors), "mse_per_step": np.mean(errors, axis=0).tolist()}
             for (size, init), errors in sorted(groups.items())]
    if copy_last:
        table.append({"size": "any", "init": "copy last frame", "seeds": len(copy_last),
                      "mse_per_step": np.mean(copy_last, axis=0).tolist()})
    return table


def precision_note(records: Sequence[dict[str, Any]], env: str) -> str:
    """One line naming the precisions ``env``'s fine-tunes trained in, flagged where they differ: a grid resumed
    on a machine whose ``train.amp=auto`` resolves otherwise (a bf16 GPU after CPUs) compares models trained
    in two precisions, which changed results here (docs/results.md: Wall's grid on an AMX machine)."""
    counts = Counter(r.get("precision") or "not recorded" for r in records if r["env"] == env)
    if not counts:
        return ""
    listed = ", ".join(f"{name} ({count})" for name, count in sorted(counts.items()))
    known = [name for name in counts if name != "not recorded"]
    if len(known) > 1:
        return (f"**Fine-tunes trained in mixed precisions: {listed}**; rows may compare models trained in "
                "different precisions (`validation.jsonl` says which).")
    return f"Fine-tunes trained in: {listed}."


def plot_success_vs_size(path: Path, rows: Sequence[dict[str, Any]], env: str) -> None:
    """Success vs fine-tuning set size for one env: a line per (planner, init), one colour per planner
    (pretrained solid, scratch dashed), seed spread shaded, oracle and random as horizontal lines."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    planners = sorted({r["planner"] for r in rows if r["env"] == env and r["size"] is not None})
    for planner, colour in zip(planners, plt.get_cmap("tab10").colors):
        for model in INITS:
            line = sorted((r for r in rows if (r["env"], r["planner"], r["model"]) == (env, planner, model)),
                          key=lambda r: r["size"])
            if not line:
                continue
            sizes = [r["size"] for r in line]
            style = "-" if model == "pretrained" else "--"
            ax.plot(sizes, [r["success"] for r in line], style, marker="o", color=colour, label=f"{planner} {model}")
            ax.fill_between(sizes, [r["success_min"] for r in line], [r["success_max"] for r in line], alpha=0.1,
                            color=colour)
    baselines: dict[float, list[str]] = defaultdict(list)  # success -> labels (equal rates share a line)
    for r in rows:
        if r["env"] == env and r["model"] in ("oracle", "random"):
            baselines[r["success"]].append("random" if r["model"] == "random" else f"oracle ({r['planner']})")
    for success, labels in baselines.items():
        ax.axhline(success, linestyle=":", linewidth=1, color="grey")
        ax.annotate(", ".join(labels), (1, success), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                    fontsize=7, color="grey")
    ax.set(xscale="log", xlabel="fine-tuning trajectories", ylabel="success rate", ylim=(-0.02, 1.02),
           title=f"{env}: success vs data (shaded: seed spread)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _headline(env: str, factor: dict[str, Any] | None) -> str:
    if factor is None:
        return ""
    if factor["scratch_beats_random"] is False:
        where = (f"not above random actions ({factor['random']:.2f}) beyond noise (Wilson 95 % intervals "
                 "overlap): no data-efficiency factor")
    elif not factor["pretrained_sizes"]:
        where = "no pretrained result yet"
    elif factor["matched_at"] is not None:
        where = f"pretrained matches it at {factor['matched_at']} ({factor['factor']:g}x fewer trajectories)"
    else:
        where = "pretrained does not match it at any size"
    return (f"- {env}, {factor['planner']}: scratch at {factor['largest']} trajectories succeeds "
            f"{factor['scratch_at_largest']:.2f}; {where}")


def write_efficiency_report(folder: Path) -> str:
    """Write ``efficiency.md`` and ``success_vs_size_<env>.png`` in ``folder`` from its JSONL files.

    Returns:
        The markdown written.

    Raises:
        FileNotFoundError: ``folder`` has no ``episodes.jsonl``.
    """
    folder = Path(folder)
    if not (folder / EPISODES_FILE).exists():
        raise FileNotFoundError(f"{folder / EPISODES_FILE} does not exist: point path= at a benchmark's output")
    episodes, validation = read_jsonl(folder / EPISODES_FILE), read_jsonl(folder / VALIDATION_FILE)
    rows = success_rows(episodes)
    envs = sorted({e["env"] for e in episodes})
    headlines, sections = [], []
    for env in envs:
        table = size_table(episodes, env)
        headlines += [_headline(env, efficiency_factor(table, p)) for p in sorted({r["planner"] for r in table})]
        plot_success_vs_size(folder / f"success_vs_size_{env}.png", rows, env)
        section = [f"## {env}", "", f"![{env}](success_vs_size_{env}.png)", ""]
        if table:
            section += [markdown_table(table, ["planner", "size", "pretrained", "scratch", "pairs", "difference",
                                               "ci95", "mcnemar_p", "oracle", "random"], float_format=".2f"), ""]
        held_out = validation_table(validation, env)
        if held_out:
            section += ["Held-out latent MSE per rollout step (mean over seeds):", "",
                        markdown_table(held_out, float_format=".2g"), "", precision_note(validation, env), ""]
        sections.append("\n".join(section))
    text = "\n".join(["# Data efficiency: pretrained vs scratch", "",
                      "Success pooled over seeds; difference = pretrained - scratch on the same tasks, paired "
                      "bootstrap 95 % interval; exact McNemar p. Regenerate: "
                      f"`worldplan report path={folder}`.", "", *[h for h in headlines if h], "", *sections])
    write_text_atomic(folder / REPORT_FILE, text)
    return text
