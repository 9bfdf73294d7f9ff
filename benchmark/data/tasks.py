"""Task definitions, declared as data in ``tasks/*.yaml`` and validated here.

The YAML files live at the top of a checkout; a wheel carries them as ``benchmark/_tasks``.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path

import yaml

from benchmark.errors import XbenchError

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # benchmark/


def tasks_dir() -> Path:
    """The folder holding the task files: inside an installed wheel, else the checkout's."""
    for candidate in (PACKAGE_DIR / "_tasks", PACKAGE_DIR.parent / "tasks"):
        if candidate.is_dir():
            return candidate
    raise XbenchError(f"no task definitions found (looked in {PACKAGE_DIR / '_tasks'} and "
                      f"{PACKAGE_DIR.parent / 'tasks'}); reinstall xbench")


@dataclass(frozen=True)
class Recipe:
    """A training recipe: every field can be overridden from the command line."""

    name: str
    description: str
    lr: float
    batch_size: int
    epochs: int
    max_length: int
    adam_epsilon: float
    weight_decay: float
    warmup_ratio: float
    max_grad_norm: float
    train_limit: int | None
    dev_limit: int | None
    eval_batch_size: int
    batching: str = "random"

    def with_overrides(self, **overrides) -> Recipe:
        """A copy with the non-None overrides applied and every field checked."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return validate_recipe(values)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# (type, minimum, maximum-or-None, may be null); bounds are inclusive unless said otherwise.
_RECIPE_FIELDS: dict[str, tuple[type, float, float | None, bool]] = {
    "lr": (float, 0.0, 1.0, False),
    "batch_size": (int, 1, None, False),
    "epochs": (int, 1, None, False),
    "max_length": (int, 8, 8192, False),
    "adam_epsilon": (float, 0.0, 1.0, False),
    "weight_decay": (float, 0.0, 1.0, False),
    "warmup_ratio": (float, 0.0, 1.0, False),
    "max_grad_norm": (float, 0.0, None, False),
    "train_limit": (int, 1, None, True),
    "dev_limit": (int, 1, None, True),
    "eval_batch_size": (int, 1, None, False),
}


BATCHING = ("random", "length-grouped")


def validate_recipe(values: dict) -> Recipe:
    """Check types and ranges of a recipe's fields; one clear line for the first bad one."""
    name = values.get("name", "?")
    unknown = set(values) - set(_RECIPE_FIELDS) - {"name", "description", "batching"}
    if unknown:
        raise XbenchError(f"recipe {name!r}: unknown field {sorted(unknown)[0]!r}; "
                          f"known fields: {', '.join(_RECIPE_FIELDS)}")
    checked = {"name": name, "description": values.get("description", ""),
               "batching": values.get("batching", "random")}
    if checked["batching"] not in BATCHING:
        raise XbenchError(f"recipe {name!r}: batching must be one of {', '.join(BATCHING)}, "
                          f"got {checked['batching']!r}")
    for key, (kind, low, high, nullable) in _RECIPE_FIELDS.items():
        if key not in values:
            raise XbenchError(f"recipe {name!r}: field {key!r} is missing")
        value = values[key]
        if value is None and nullable:
            checked[key] = None
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            kind is int and not float(value).is_integer()
        ):
            raise XbenchError(f"recipe {name!r}: {key} must be {'an integer' if kind is int else 'a number'}, "
                              f"got {value!r}")
        if not math.isfinite(value):
            raise XbenchError(f"recipe {name!r}: {key} must be a finite number, got {value!r}")
        value = kind(value)
        positive_only = key in ("lr",)
        if value < low or (positive_only and value <= 0) or (high is not None and value > high):
            bound = f"> {low}" if positive_only else f">= {low}"
            if high is not None:
                bound += f" and <= {high}"
            raise XbenchError(f"recipe {name!r}: {key} must be {bound}, got {value!r}")
        checked[key] = value
    return Recipe(**checked)


@dataclass(frozen=True)
class Language:
    """A language as the task declares it: English name, ISO 15924 script, family, and the
    multilingual pretraining corpora that include it (``xlmr``, ``mbert``)."""

    code: str
    name: str
    script: str
    family: str = ""
    pretrained_in: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.name != UNKNOWN


UNKNOWN = "unknown"
_LANGUAGE_KEYS = {"name", "script", "family", "pretrained_in"}


@dataclass(frozen=True)
class Task:
    """A benchmark task: its data sources, labels, language sets and training recipes."""

    name: str
    version: int
    description: str
    citation: tuple[str, ...]
    labels: tuple[str, ...]
    scheme: str
    splits: tuple[str, ...]
    hub_dataset: str | None  # None: the task's data is not on the hub (local folders only)
    hub_config: str | None
    seqeval_mode: str
    default_recipe: str
    recipes: dict[str, Recipe]
    language_sets: dict[str, tuple[str, ...]]
    languages: dict[str, Language]
    path: Path = field(compare=False)
    # A CSV of published F1 per target (lang,en_to_x) shown beside reports, looked up in the
    # project's shared/reference folder; None: the task has none.
    reference: str | None = None

    @property
    def entity_types(self) -> tuple[str, ...]:
        """``("PER", "ORG", "LOC")``: the types of the B- labels, in the labels' order."""
        return tuple(label[2:] for label in self.labels if label.startswith("B-"))

    def language(self, code: str) -> Language:
        """The declared language, or one named "unknown" (script "?") for a code the task does not
        list: data under any code is usable by name and reported as unknown, never a crash."""
        return self.languages.get(code) or Language(code, UNKNOWN, "?")

    def recipe(self, name: str | None = None) -> Recipe:
        name = name or self.default_recipe
        if name not in self.recipes:
            raise XbenchError(f"unknown recipe {name!r} for task {self.name}{did_you_mean(name, self.recipes)}; "
                              f"known: {', '.join(self.recipes)}")
        return self.recipes[name]


def did_you_mean(word: str, choices) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


_TASK_KEYS = {"name", "version", "description", "citation", "labels", "scheme", "splits", "hub",
              "local_layouts", "metric", "default_recipe", "recipes", "language_sets", "languages"}
_OPTIONAL_TASK_KEYS = {"reference"}


def parse_task(path: Path) -> Task:
    """Read and check one task file; unknown keys are an error so typos do not pass silently."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise XbenchError(f"{path}: cannot read task file: {err}") from None
    if not isinstance(raw, dict):
        raise XbenchError(f"{path}: a task file must be a mapping")
    unknown = set(raw) - _TASK_KEYS - _OPTIONAL_TASK_KEYS
    missing = _TASK_KEYS - set(raw)
    if unknown or missing:
        raise XbenchError(f"{path}: unknown keys {sorted(unknown)} / missing keys {sorted(missing)}")
    languages = {str(code): _parse_language(path, str(code), meta) for code, meta in raw["languages"].items()}
    sets = _resolve_language_sets(path, raw["language_sets"], languages)
    for set_name, codes in sets.items():
        unknown_codes = [c for c in codes if c not in languages]
        if unknown_codes:
            raise XbenchError(f"{path}: language set {set_name} names undeclared languages {unknown_codes}")
    recipes = {name: validate_recipe({"name": name, **values}) for name, values in raw["recipes"].items()}
    if raw["default_recipe"] not in recipes:
        raise XbenchError(f"{path}: default_recipe {raw['default_recipe']!r} is not a recipe")
    return Task(
        name=raw["name"],
        version=int(raw["version"]),
        description=raw["description"],
        citation=tuple(raw["citation"]),
        labels=tuple(raw["labels"]),
        scheme=raw["scheme"],
        splits=tuple(raw["splits"]),
        hub_dataset=(raw["hub"] or {}).get("dataset"),
        hub_config=(raw["hub"] or {}).get("config"),
        seqeval_mode=raw["metric"]["seqeval_mode"],
        default_recipe=raw["default_recipe"],
        recipes=recipes,
        language_sets=sets,
        languages=languages,
        path=path,
        reference=raw.get("reference"),
    )


def _parse_language(path: Path, code: str, meta) -> Language:
    if not isinstance(meta, dict) or not {"name", "script"} <= set(meta) or set(meta) - _LANGUAGE_KEYS:
        raise XbenchError(f"{path}: language {code!r} needs name and script (optional: family, pretrained_in), "
                          f"got {meta!r}")
    return Language(code, str(meta["name"]), str(meta["script"]), str(meta.get("family", "")),
                    tuple(str(c) for c in meta.get("pretrained_in", ())))


def _resolve_language_sets(path: Path, raw_sets: dict, declared=()) -> dict[str, tuple[str, ...]]:
    """Expand sets declared as ``{include: [...], add: [...]}`` into plain code lists; ``"*"`` is
    every declared language."""
    resolved: dict[str, tuple[str, ...]] = {}

    def resolve(name: str, seen: tuple[str, ...]) -> tuple[str, ...]:
        if name in resolved:
            return resolved[name]
        if name in seen or name not in raw_sets:
            raise XbenchError(f"{path}: language set {name!r} is undefined or includes itself")
        spec = raw_sets[name]
        if spec == "*":
            codes = list(declared)
        elif isinstance(spec, list):
            codes = [str(c) for c in spec]
        else:
            codes = [c for inc in spec.get("include", []) for c in resolve(inc, seen + (name,))]
            codes += [str(c) for c in spec.get("add", [])]
        if len(set(codes)) != len(codes):
            raise XbenchError(f"{path}: language set {name!r} lists a language twice")
        resolved[name] = tuple(codes)
        return resolved[name]

    for set_name in raw_sets:
        resolve(set_name, ())
    return resolved


@cache
def all_tasks() -> dict[str, Task]:
    tasks = {}
    for path in sorted(tasks_dir().glob("*.yaml")):
        task = parse_task(path)
        if task.name in tasks:
            raise XbenchError(f"task {task.name!r} is declared twice ({tasks[task.name].path}, {path})")
        tasks[task.name] = task
    return tasks


def get_task(name: str) -> Task:
    tasks = all_tasks()
    if name not in tasks:
        raise XbenchError(f"unknown task {name!r}{did_you_mean(name, tasks)}; known: {', '.join(tasks)}")
    return tasks[name]
