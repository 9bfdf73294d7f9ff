"""The ``xbench run`` command that recomputes targets of a stored result: what a message advises
when a stored score is stale or its predictions file is damaged, so the advice works as typed."""

from __future__ import annotations

import shlex
from pathlib import Path

# Recipe fields with a command-line override, and the option that sets each.
_OVERRIDE_OPTIONS = {"epochs": "--epochs", "lr": "--lr", "batch_size": "--batch-size", "max_length": "--max-length",
                     "train_limit": "--train-limit", "dev_limit": "--dev-limit",
                     "eval_batch_size": "--eval-batch-size", "batching": "--batching"}


def recipe_options(stored: dict, declared: dict | None) -> list[str]:
    """``--lr 0.0005 ...`` for each field where the stored recipe differs from the declared one."""
    options = []
    for field, option in _OVERRIDE_OPTIONS.items():
        if field in stored and (declared is None or stored[field] != declared.get(field)):
            options += [option, str(stored[field])]
    return options


def rerun_command(result: dict, results_dir: Path, targets: list[str], overwrite: str | None = None) -> str:
    """``xbench run --model ... --targets de --seeds 1 ... --results-dir ...`` for a stored result."""
    from benchmark.data.tasks import get_task
    from benchmark.errors import XbenchError

    identity = result.get("identity", {})
    stored_recipe = identity.get("recipe") or result.get("recipe", {})
    try:
        declared = get_task(result["task"]).recipe(stored_recipe.get("name")).as_dict()
    except (XbenchError, KeyError):
        declared = None
    model = result["model"]
    # A local folder is named by its folder and weights; --name keeps the name it was stored under.
    model_args = ["--model", model["local_path"], "--name", model["name"]] if model.get("local_path") else \
        ["--model", model["name"]]
    args = ["xbench", "run", "--task", result["task"], *model_args,
            "--source", ",".join(result["sources"]), "--targets", ",".join(targets),
            "--seeds", str(result["seed"]), "--recipe", stored_recipe.get("name", "xtreme"),
            *recipe_options(stored_recipe, declared)]
    if isinstance(identity.get("bf16"), bool):
        args += ["--bf16", "on" if identity["bf16"] else "off"]
    limits = {result["targets"][t].get("test_limit") for t in targets if t in result.get("targets", {})}
    if len(limits) == 1 and (limit := limits.pop()) is not None:
        args += ["--test-limit", str(limit)]
    data_dir = result.get("config", {}).get("data_dir")
    if data_dir:
        args += ["--data-dir", data_dir]
    args += ["--results-dir", str(results_dir)]
    if overwrite:
        args += ["--overwrite", overwrite]
    return shlex.join(args)
