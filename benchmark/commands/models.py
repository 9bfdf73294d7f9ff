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
