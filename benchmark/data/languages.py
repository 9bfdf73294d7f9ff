"""Language codes and sets: resolving ``--targets``/``--source`` against a task and a source."""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.data.sources import DataSource
from benchmark.data.tasks import Task, did_you_mean
from benchmark.errors import XbenchError

ALL = "all"


@dataclass(frozen=True)
class LanguageSelection:
    """The languages asked for, split into those with data at the source and those without."""

    requested: tuple[str, ...]
    present: tuple[str, ...]
    missing: tuple[str, ...]


def expand_language_spec(task: Task, spec: str, source: DataSource, listing: bool = False) -> tuple[str, ...]:
    """``"de,fr"``, ``"xtreme40"``, ``"all"`` or a mix, in the order given, without repeats.

    A code the task does not declare is accepted when a local data folder has it (it is then
    reported as an unknown language); otherwise unknown codes and set names stop with "did you mean".
    """
    items = [item.strip() for item in spec.split(",") if item.strip()]
    if not items:
        raise XbenchError("no languages given: name codes (de,fr), a set "
                          f"({', '.join(task.language_sets)}) or {ALL!r}")
    codes: list[str] = []
    for item in items:
        if item == ALL:
            # A listing shows every code with data; as targets, ``all`` is the task's declared
            # languages, and a stray file (test-zz.tsv) is listed as ignored, a target only by name.
            available = source.available_languages(task, include_undeclared=listing)
            note_ignored(task, source)
            codes.extend(available if available is not None else task.languages)
        elif item in task.language_sets:
            codes.extend(task.language_sets[item])
        elif item in task.languages or (source.kind != "hub" and source.has_language(item)):
            codes.append(item)
        else:
            choices = list(task.languages) + list(task.language_sets) + [ALL]
            raise XbenchError(f"unknown language or language set {item!r}{did_you_mean(item, choices)}; "
                              f"sets: {', '.join(task.language_sets)}, {ALL}; "
                              "`xbench languages` lists the codes")
    return tuple(dict.fromkeys(codes))


def note_ignored(task: Task, source: DataSource) -> None:
    """One line listing what in a data folder is not data of the task (asked for ``all``)."""
    import sys

    if source.kind == "hub":
        return
    ignored = source.inventory(task)[2]
    if ignored:
        print(f"note: ignored in {source.root}: {', '.join(ignored)}", file=sys.stderr)


def select_languages(task: Task, spec: str, source: DataSource, listing: bool = False) -> LanguageSelection:
    requested = expand_language_spec(task, spec, source, listing)
    present = tuple(code for code in requested if source.has_language(code))
    missing = tuple(code for code in requested if code not in present)
    return LanguageSelection(requested, present, missing)


def missing_message(selection: LanguageSelection, source: DataSource) -> str:
    return (f"no data for {len(selection.missing)} of {len(selection.requested)} languages "
            f"({', '.join(selection.missing)}); looked in {source.describe()}")
