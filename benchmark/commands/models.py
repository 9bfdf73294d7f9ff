"""``xbench models``: the registry with what is available on this machine."""

from __future__ import annotations

from tabulate import tabulate

from benchmark.models.loading import availability
from benchmark.models.registry import registered_names, resolve_model


def _languages_cell(languages: frozenset[str] | None) -> str:
    if languages is None:
        return "?"
    if len(languages) <= 3:
        return ",".join(sorted(languages)) or "none"
    return f"{len(languages)} languages"


def models_table() -> str:
    rows = []
    for name in registered_names():
        spec = resolve_model(name)
        rows.append([name, spec.family, spec.parameters, _languages_cell(spec.languages), spec.hub_id,
                     availability(spec)])
    table = tabulate(rows, headers=["name", "family", "parameters", "pretrained on", "hub id", "here"])
    return (table + "\n\n<name>-random: any of these architectures with random weights (no pretraining).\n"
            "Any other Hugging Face Hub id or local model folder is accepted by --model as it is.")


def download_models(names: tuple[str, ...]) -> list[str]:
    """Fetch hub models into the Hugging Face cache (offline ones are built into xbench's cache),
    so that jobs on compute nodes without internet find them. One line per model; the first that
    cannot be had stops with one line (exit status 2)."""
    from benchmark.models.loading import availability, model_folder

    lines = []
    for name in dict.fromkeys(names):
        spec = resolve_model(name)
        before = availability(spec)
        folder = model_folder(spec)
        how = {"hub-only": "downloaded", "cached": "already cached", "installed": "built from its offline package",
               "local": "a local folder"}[before]
        lines.append(f"{name}: {how}: {folder}")
    return lines
