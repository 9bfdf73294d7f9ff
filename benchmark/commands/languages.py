"""``xbench languages`` and ``xbench data check``."""

from __future__ import annotations

from tabulate import tabulate
from tqdm import tqdm

from benchmark.data.check import language_stats
from benchmark.data.conll import count_sentences
from benchmark.data.languages import missing_message, select_languages
from benchmark.data.sources import TEXT_LAYOUTS, resolve_source
from benchmark.data.tasks import get_task


def languages_table(task_name: str, spec: str, data_dir) -> str:
    task = get_task(task_name)
    source = resolve_source(data_dir)
    selection = select_languages(task, spec, source, listing=True)
    rows = []
    for code in selection.requested:
        lang = task.language(code)
        present = code in selection.present
        counts = ["-"] * 3
        if present and source.kind in TEXT_LAYOUTS:
            counts = [count_sentences(p) if (p := source.split_path(code, s)).exists() else "missing"
                      for s in ("train", "validation", "test")]
        elif present:
            counts = [source.load(task, code)[s].num_rows for s in ("train", "validation", "test")]
        rows.append([code, lang.name, lang.script, lang.family or "-", ",".join(lang.pretrained_in) or "-",
                     *counts, "yes" if present else "MISSING"])
    table = tabulate(rows, headers=["code", "language", "script", "family", "pretrained in", "train", "dev", "test",
                                    "data"])
    lines = [table, "", f"{len(selection.present)} of {len(selection.requested)} languages have data "
             f"in {source.describe()}."]
    unknown = [code for code in selection.requested if not task.language(code).known]
    if unknown:
        lines.append(f"{len(unknown)} code(s) not declared by task {task.name} (unknown language, usable by name): "
                     f"{', '.join(unknown)}.")
    if selection.missing:
        lines.append(missing_message(selection, source) + ".")
    return "\n".join(lines)


def data_check_table(task_name: str, spec: str, data_dir) -> str:
    task = get_task(task_name)
    source = resolve_source(data_dir)
    selection = select_languages(task, spec, source)
    rows = []
    for code in tqdm(selection.present, desc="checking", unit="lang", leave=False):
        stats = language_stats(task, source, code)
        for split, st in stats.items():
            rows.append([code, split, st.sentences, st.words,
                         *(st.entities.get(t, 0) for t in task.entity_types), st.scheme_breaks])
    table = tabulate(rows, headers=["lang", "split", "sentences", "words", *task.entity_types, "IOB2 breaks"])
    breaks = sum(r[-1] for r in rows)
    lines = [table, "", f"{len(selection.present)} languages, {len(rows)} files valid in {source.describe()}; "
             f"{breaks} IOB2 scheme breaks (kept as given)."]
    if selection.missing:
        lines.append(missing_message(selection, source) + ".")
    return "\n".join(lines)
