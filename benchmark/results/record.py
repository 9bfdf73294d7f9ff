"""One stored result as a typed object: built, validated, written and read here.

Three kinds of result share one layout: a fine-tune of ``xbench run``, a model scored as given by
``xbench evaluate``, and predictions made elsewhere brought in by ``xbench import``. Each used to
build its JSON dict by hand; :class:`Result` is that dict's one definition. The file on disk is
:meth:`Result.as_dict` as JSON; :mod:`benchmark.results.store` adds and checks the schema version
and the checksum, and :meth:`Result.from_dict` checks the fields before anything reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmark.errors import XbenchError
from benchmark.results.store import read_result, write_result

KIND_RUN = "run"  # fine-tuned by xbench run
KIND_AS_GIVEN = "as-given"  # scored as given by xbench evaluate, no training
KIND_IMPORTED = "imported"  # predictions made by another pipeline (xbench import)
KINDS = (KIND_RUN, KIND_AS_GIVEN, KIND_IMPORTED)

# The fields every result has, with the JSON types a reader may rely on.
_CORE_TYPES = {"task": str, "identity": dict, "model": dict, "sources": list, "seed": int, "seqeval_mode": str,
               "targets": dict}
# Fields written for each kind besides the core; absent ones are not written at all.
_KIND_FIELDS = {
    KIND_RUN: ("config", "training", "warnings", "versions", "git_commit"),
    KIND_AS_GIVEN: ("config", "training", "warnings", "versions", "git_commit", "evaluated_as_given", "label_mapping"),
    KIND_IMPORTED: ("versions", "git_commit", "imported"),
}
# Written as null when unknown (an as-given result has no training, an installed xbench no commit).
_NULLABLE = {"training", "git_commit"}
_STORE_FIELDS = ("schema_version", "checksum")  # the store's own, added on writing


@dataclass
class Result:
    """What one (task, recipe, model, sources, seed) holds: who made it, how, and a score per target.

    ``targets`` maps a language to its scores and the reference to its predictions file; the
    evaluation fills it one target at a time and the result is written after each.
    """

    kind: str
    task: str
    task_version: str | int | None
    identity: dict
    model: dict
    sources: list[str]
    seed: int
    recipe: dict | None
    seqeval_mode: str
    targets: dict[str, dict] = field(default_factory=dict)
    config: dict | None = None
    training: dict | None = None
    warnings: list[str] | None = None  # None: a file written before results had warnings
    versions: dict | None = None
    git_commit: str | None = None
    label_mapping: dict | None = None  # as given: the model's labels and what each became
    imported: dict | None = None  # imported: the files, with their paths and checksums
    saved_model: dict | None = None  # run --save-model: where the fine-tuned model was kept
    extra: dict = field(default_factory=dict)  # fields of a file this xbench does not know, kept as they are

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"result kind {self.kind!r}, expected one of {KINDS}")

    def stamp(self, versions: dict, git_commit: str | None) -> None:
        """Record the library versions and the commit of the code that makes this result."""
        self.versions, self.git_commit = versions, git_commit

    def as_dict(self) -> dict:
        """The JSON layout of a result file (without the store's schema version and checksum)."""
        out = {"task": self.task, "task_version": self.task_version, "identity": self.identity, "model": self.model,
               "sources": self.sources, "seed": self.seed, "recipe": self.recipe, "seqeval_mode": self.seqeval_mode,
               "targets": self.targets}
        for name in _KIND_FIELDS[self.kind]:
            value = True if name == "evaluated_as_given" else getattr(self, name)
            if value is not None or name in _NULLABLE:
                out[name] = value
        if self.saved_model is not None:
            out["saved_model"] = self.saved_model
        return {**self.extra, **out}

    @classmethod
    def from_dict(cls, data: dict, path: Path | str = "result") -> Result:
        """A result read from a file, its fields checked: one line naming the file and the field
        when one is missing or of the wrong type (a hand-edited or foreign file)."""
        if not isinstance(data, dict):
            raise XbenchError(f"{path}: result file is not a JSON object")
        for name, kind in _CORE_TYPES.items():
            value = data.get(name)
            # bool is an int in Python; a seed of true is not a seed
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise XbenchError(f"{path}: result field {name!r} is {type(value).__name__}, expected "
                                  f"{kind.__name__}; delete the file or rerun with --overwrite always")
        for lang, target in data["targets"].items():
            if not isinstance(target, dict):
                raise XbenchError(f"{path}: result target {lang!r} is {type(target).__name__}, expected an object")
        kind = KIND_AS_GIVEN if data.get("evaluated_as_given") else KIND_IMPORTED if "imported" in data else KIND_RUN
        known = {"task", "task_version", "identity", "model", "sources", "seed", "recipe", "seqeval_mode",
                 "targets", "config", "training", "warnings", "versions", "git_commit", "label_mapping", "imported",
                 "saved_model", "evaluated_as_given", *_STORE_FIELDS}
        return cls(kind=kind, task=data["task"], task_version=data.get("task_version"), identity=data["identity"],
                   model=data["model"], sources=data["sources"], seed=data["seed"], recipe=data.get("recipe"),
                   seqeval_mode=data["seqeval_mode"], targets=data["targets"], config=data.get("config"),
                   training=data.get("training"), warnings=data.get("warnings"),
                   versions=data.get("versions"), git_commit=data.get("git_commit"),
                   label_mapping=data.get("label_mapping"), imported=data.get("imported"),
                   saved_model=data.get("saved_model"),
                   extra={k: v for k, v in data.items() if k not in known})

    @classmethod
    def read(cls, path: Path) -> Result:
        """Read, verify (schema version, checksum) and check one result file."""
        return cls.from_dict(read_result(path), path)

    def write(self, path: Path) -> None:
        """Write atomically, with the schema version and checksum (the old file stays whole on error)."""
        write_result(path, self.as_dict())
