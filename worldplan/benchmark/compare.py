"""Compare two benchmark runs cell by cell on the same tasks: a variant against the run it varies.

    python -m worldplan.benchmark.compare <variant dir> <baseline dir> [--models pretrained] [--out FILE]

Each folder holds a benchmark's ``episodes.jsonl`` (a run folder or a committed copy). Episodes pair across
the two runs by (env, planner, model, size, seed, episode index); a pair must have planned the same task
seed, else the runs are not comparable and it raises. Each (env, planner, model, size) present in both
gets the paired difference variant - baseline with its bootstrap 95 % interval and exact McNemar p
(`paired.paired_difference`), as a markdown table.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from worldplan.atomic import write_text_atomic
from worldplan.benchmark.efficiency import EPISODES_FILE, read_jsonl
from worldplan.benchmark.paired import paired_difference
from worldplan.evaluate.metrics import markdown_table

CELL = ("env", "planner", "model", "size")


def _by_task(episodes: Sequence[dict[str, Any]], models: Sequence[str] | None) -> dict[tuple, dict[str, Any]]:
    """Episodes keyed by (env, planner, model, size, seed, index), only ``models`` (None: all)."""
    return {(*(e[k] for k in CELL), e["seed"], e["index"]): e for e in episodes
            if models is None or e["model"] in models}


def compare_runs(variant: Sequence[dict[str, Any]], baseline: Sequence[dict[str, Any]],
                 models: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per cell in both runs: successes of each over the paired tasks, difference, ci95, McNemar p.

    Raises:
        ValueError: a pair's episodes planned different task seeds.
    """
    a, b = _by_task(variant, models), _by_task(baseline, models)
    cells: dict[tuple, list[tuple]] = {}
    for key in sorted(a.keys() & b.keys(), key=str):
        if a[key]["task_seed"] != b[key]["task_seed"]:
            raise ValueError(f"{dict(zip((*CELL, 'seed', 'index'), key))}: the two runs planned different tasks "
                             f"(task seeds {a[key]['task_seed']} and {b[key]['task_seed']}); they are not paired")
        cells.setdefault(key[:4], []).append(key)
    rows = []
    for cell, keys in cells.items():
        wins, base = [bool(a[k]["success"]) for k in keys], [bool(b[k]["success"]) for k in keys]
        paired = paired_difference(wins, base)
        rows.append({**dict(zip(CELL, cell)), "seeds": len({k[4] for k in keys}), "pairs": paired["pairs"],
                     "variant": sum(wins) / len(keys), "baseline": sum(base) / len(keys),
                     "difference": paired["difference"], "ci95": paired["ci95"], "mcnemar_p": paired["mcnemar_p"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", type=Path, help="a folder with episodes.jsonl: the variant")
    parser.add_argument("baseline", type=Path, help="a folder with episodes.jsonl: the run it is compared with")
    parser.add_argument("--models", nargs="*", default=None, help="only these model rows (e.g. pretrained)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    args = parser.parse_args()
    runs = []
    for folder in (args.variant, args.baseline):
        if not (folder / EPISODES_FILE).is_file():
            parser.error(f"{folder} has no {EPISODES_FILE}: pass a benchmark run folder or a committed copy of one")
        runs.append(read_jsonl(folder / EPISODES_FILE))
    rows = compare_runs(*runs, models=args.models)
    if not rows:
        parser.error("the two runs share no (env, planner, model, size, seed, episode): nothing to compare")
    table = (f"Variant {args.variant} vs baseline {args.baseline}: paired on the same tasks "
             f"(`python -m worldplan.benchmark.compare {args.variant} {args.baseline}"
             f"{' --models ' + ' '.join(args.models) if args.models else ''}`).\n\n"
             + markdown_table(rows, list(rows[0])))
    print(table)
    if args.out is not None:
        write_text_atomic(args.out, table + "\n")


if __name__ == "__main__":
    main()
