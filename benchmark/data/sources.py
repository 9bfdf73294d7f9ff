"""Where a task's data comes from, and loading one language into a ``datasets.DatasetDict``.

Five sources give the same object (``tokens``, and ``ner_tags`` as a ClassLabel over the task's
labels; splits ``train``, ``validation``, ``test``):

- ``panx``: a local folder of ``{train,dev,test}-<lang>.tsv`` (XTREME's layout);
- ``rahimi``: a local folder of ``<lang>/{train,dev,test}`` with ``<lang>:`` word prefixes;
- ``conll``: a local folder of ``<lang>/{train,dev,test}.txt``, word and tag separated by a space
  or a tab (the MasakhaNER release);
- ``parquet``: the Hugging Face Hub layout saved locally (``<lang>/<split>/*.parquet`` or
  ``<lang>/<split>-*.parquet``), read through the same code path as the hub;
- ``hub``: ``datasets.load_dataset(<task.hub_dataset>, <lang>)``, for tasks that name one.

The layout of a local folder is detected, never configured.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from benchmark.data.conll import TaggedSentences, read_tagged_file
from benchmark.data.tasks import Task
from benchmark.errors import XbenchError

# File names use "dev"; the DatasetDict uses the hub's "validation".
FILE_SPLITS = {"train": "train", "validation": "dev", "test": "test"}
DATA_DIR_ENV = "XBENCH_DATA_DIR"
_PANX_FILE = re.compile(r"^(train|dev|test)-([^.]+)\.tsv$")
TEXT_LAYOUTS = ("panx", "rahimi", "conll")  # one text file per (language, split)


@dataclass(frozen=True)
class DataSource:
    """A detected source of task data: its kind and, for local folders, the folder."""

    kind: str  # panx | rahimi | conll | parquet | hub
    root: Path | None

    def describe(self) -> str:
        return "the Hugging Face Hub" if self.kind == "hub" else f"{self.kind} files in {self.root}"

    def split_path(self, lang: str, split: str) -> Path:
        """Where a split's file lives (text layouts only)."""
        name = FILE_SPLITS[split]
        if self.kind == "panx":
            return self.root / f"{name}-{lang}.tsv"
        if self.kind == "rahimi":
            return self.root / lang / name
        if self.kind == "conll":
            return self.root / lang / f"{name}.txt"
        raise ValueError(f"{self.kind} has no single file per split")

    def available_languages(self, task: Task, include_undeclared: bool = False) -> list[str] | None:
        """Languages of the task with data here, sorted (with ``include_undeclared``, also codes the
        task does not declare); None for the hub, which is not listed offline."""
        if self.kind == "hub":
            return None
        declared, undeclared, _ = self.inventory(task)
        return sorted(declared + undeclared) if include_undeclared else declared

    def inventory(self, task: Task) -> tuple[list[str], list[str], list[str]]:
        """(the task's languages with data here; codes with data the task does not declare; what is
        ignored here, each entry with why), each sorted.

        A file that does not fit the layout (a backup, ``test-fo.orig.tsv``) or names a language
        the task does not know (``test-zz.tsv``) is never a target of ``all``: it is listed, not read.
        """
        found: set[str] = set()
        undeclared: set[str] = set()
        ignored: list[str] = []

        def consider(code: str, entry: str) -> None:
            if code in task.languages:
                found.add(code)
            else:
                undeclared.add(code)
                ignored.append(f"{entry} (language {code!r} is not declared by task {task.name}; "
                               "a target only by name)")

        entries = sorted(p for p in self.root.iterdir() if not p.name.startswith("."))
        if self.kind == "panx":
            for p in entries:
                if (m := _PANX_FILE.match(p.name)) and p.is_file():
                    consider(m.group(2), p.name)
                else:
                    ignored.append(f"{p.name} (not {{train,dev,test}}-<lang>.tsv)")
        elif self.kind == "rahimi":
            for p in entries:
                if p.is_dir() and _has_rahimi_files(p):
                    consider(p.name, p.name + "/")
                    ignored += [f"{p.name}/{f.name} (not train, dev or test)" for f in sorted(p.iterdir())
                                if f.name not in FILE_SPLITS.values() and not f.name.startswith(".")]
                else:
                    ignored.append(f"{p.name} (not a <lang>/ folder with train, dev, test)")
        elif self.kind == "conll":
            splits = {f"{name}.txt" for name in FILE_SPLITS.values()}
            for p in entries:
                if p.is_dir() and _has_conll_files(p):
                    consider(p.name, p.name + "/")
                    ignored += [f"{p.name}/{f.name} (not train.txt, dev.txt or test.txt)" for f in sorted(p.iterdir())
                                if f.name not in splits and not f.name.startswith(".")]
                else:
                    ignored.append(f"{p.name} (not a <lang>/ folder with train.txt, dev.txt, test.txt)")
        else:
            for p in entries:
                if p.is_dir() and _parquet_files(p):
                    consider(p.name, p.name + "/")
                else:
                    ignored.append(f"{p.name} (not a <lang>/ folder of parquet files)")
        return sorted(found), sorted(undeclared), ignored

    def has_language(self, lang: str) -> bool:
        if self.kind == "hub":
            return True
        if self.kind in TEXT_LAYOUTS:
            return any(self.split_path(lang, s).exists() for s in FILE_SPLITS)
        return bool(_parquet_files(self.root / lang))

    def load(self, task: Task, lang: str, splits: tuple[str, ...] = ("train", "validation", "test")):
        """The language's splits as a DatasetDict."""
        if self.kind in TEXT_LAYOUTS:
            parsed = {split: self.read_split(task, lang, split) for split in splits}
            return to_dataset_dict(task, parsed)
        if self.kind == "parquet":
            return _load_parquet(task, self.root / lang, lang, splits)
        return _load_hub(task, lang, splits)

    def read_split(self, task: Task, lang: str, split: str) -> TaggedSentences:
        """One split of a text layout, parsed and validated."""
        path = self.split_path(lang, split)
        if not path.exists():
            raise XbenchError(f"{path}: missing {FILE_SPLITS[split]} split for language {lang!r} "
                              f"({self.describe()})")
        prefix = lang if self.kind == "rahimi" else None
        return read_tagged_file(path, task.labels, lang_prefix=prefix)


def _has_rahimi_files(folder: Path) -> bool:
    return any((folder / name).is_file() for name in FILE_SPLITS.values())


def _has_conll_files(folder: Path) -> bool:
    return any((folder / f"{name}.txt").is_file() for name in FILE_SPLITS.values())


def _parquet_files(folder: Path, split: str | None = None) -> list[Path]:
    """Parquet shards of a language folder, optionally of one split, in a stable order."""
    if not folder.is_dir():
        return []
    if split is None:
        return sorted(folder.glob("*.parquet")) + sorted(folder.glob("*/*.parquet"))
    return sorted(folder.glob(f"{split}-*.parquet")) + sorted(folder.glob(f"{split}/*.parquet"))


def _detect_layout(folder: Path) -> str | None:
    kinds = []
    entries = list(folder.iterdir())
    if any(_PANX_FILE.match(p.name) for p in entries):
        kinds.append("panx")
    subdirs = [p for p in entries if p.is_dir()]
    if any(_has_rahimi_files(p) for p in subdirs):
        kinds.append("rahimi")
    if any(_has_conll_files(p) for p in subdirs):
        kinds.append("conll")
    if any(_parquet_files(p) for p in subdirs):
        kinds.append("parquet")
    if len(kinds) > 1:
        raise XbenchError(f"{folder}: holds data in several layouts ({', '.join(kinds)}); "
                          "keep one layout per folder")
    return kinds[0] if kinds else None


def resolve_source(data_dir: str | os.PathLike | None) -> DataSource:
    """``--data-dir``, else ``$XBENCH_DATA_DIR``, else the project file's ``data_dir``, else the hub
    (:mod:`benchmark.config`); a folder's layout is detected.

    A folder that holds no layout itself but exactly one subfolder that does (as
    ``shared/wikiann/panx``) is used through that subfolder.
    """
    from benchmark.config import resolve

    chosen = resolve("data_dir", data_dir)
    if chosen.value is None:
        return DataSource("hub", None)
    root = Path(chosen.value).expanduser()
    if not root.is_dir():
        raise XbenchError(f"data folder {root} does not exist (from {chosen.source})")
    kind = _detect_layout(root)
    if kind:
        return DataSource(kind, root)
    candidates = [(sub, k) for sub in sorted(p for p in root.iterdir() if p.is_dir())
                  if (k := _detect_layout(sub))]
    if len(candidates) == 1:
        sub, kind = candidates[0]
        return DataSource(kind, sub)
    if candidates:
        raise XbenchError(f"{root}: several subfolders hold data ({', '.join(str(s) for s, _ in candidates)}); "
                          "pass one of them as --data-dir")
    raise XbenchError(f"{root}: no task data found: expected {{train,dev,test}}-<lang>.tsv (panx), "
                      "<lang>/{train,dev,test} (rahimi), <lang>/{train,dev,test}.txt (conll) or "
                      "<lang>/<split>*.parquet (hub layout)")


def dataset_features(task: Task):
    from datasets import ClassLabel, Features, List, Value

    return Features({"tokens": List(Value("string")), "ner_tags": List(ClassLabel(names=list(task.labels)))})


def to_dataset_dict(task: Task, parsed: dict[str, TaggedSentences]):
    from datasets import Dataset, DatasetDict

    label_id = {label: i for i, label in enumerate(task.labels)}
    features = dataset_features(task)
    return DatasetDict({
        split: Dataset.from_dict(
            {"tokens": sents.tokens, "ner_tags": [[label_id[t] for t in tags] for tags in sents.tags]},
            features=features,
        )
        for split, sents in parsed.items()
    })


def normalise_hub_layout(task: Task, dataset_dict, origin: str):
    """Bring a hub-layout DatasetDict (tokens, ner_tags, langs, spans) to xbench's form.

    Shared by the hub and by local parquet copies, so the hub path is tested offline.
    """
    from datasets import DatasetDict

    out = {}
    for split, ds in dataset_dict.items():
        split = "validation" if split == "dev" else split
        missing = {"tokens", "ner_tags"} - set(ds.column_names)
        if missing:
            raise XbenchError(f"{origin}: split {split} lacks columns {sorted(missing)}")
        names = getattr(ds.features["ner_tags"].feature, "names", None)
        if names is not None and tuple(names) != task.labels:
            raise XbenchError(f"{origin}: labels {names} differ from the task's {list(task.labels)}")
        ds = ds.select_columns(["tokens", "ner_tags"])
        try:
            out[split] = ds.cast(dataset_features(task))
        except (ValueError, TypeError) as err:  # a tag id outside the labels, or a column of another type
            raise XbenchError(f"{origin}: split {split} does not fit the task's columns "
                              f"({str(err).strip().splitlines()[0][:200]})") from None
    return DatasetDict(out)


def _load_parquet(task: Task, folder: Path, lang: str, splits: tuple[str, ...]):
    from datasets import load_dataset

    files = {}
    for split in splits:
        shards = _parquet_files(folder, split) or (
            _parquet_files(folder, "dev") if split == "validation" else [])
        if not shards:
            raise XbenchError(f"{folder}: missing {split} split for language {lang!r} (no {split}*.parquet)")
        files[split] = [str(p) for p in shards]
    shards = [Path(f) for fs in files.values() for f in fs]
    _check_parquet_shards(shards, folder)
    try:
        loaded = load_dataset("parquet", data_files=files)
    except Exception as err:  # datasets raises many types; the cause is the informative part
        while err.__cause__ is not None or err.__context__ is not None:
            err = err.__cause__ or err.__context__
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise XbenchError(f"{folder}: cannot read {', '.join(str(p.relative_to(folder)) for p in shards)} as the "
                          f"task's parquet data ({type(err).__name__}: {first_line})") from None
    return normalise_hub_layout(task, loaded, str(folder))


def _check_parquet_shards(shards: list[Path], folder: Path) -> None:
    """Name the first shard that is not a readable parquet file (cut off, or another format)."""
    import pyarrow.parquet as pq

    for shard in shards:
        try:
            pq.read_metadata(shard)  # the footer, where a cut-off or foreign file fails
        except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ...
            first_line = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
            raise XbenchError(f"{shard}: not a readable parquet file ({first_line}); replace it with a good "
                              "copy") from None


def tag_strings(task: Task, rows, origin: str) -> list[list[str]]:
    """Tag ids of a loaded split as the task's tag strings; a missing or out-of-range id is one line."""
    tags = []
    for number, row in enumerate(rows, start=1):
        if row is None:
            raise XbenchError(f"{origin}, sentence {number}: no ner_tags")
        bad = [i for i in row if i is None or not 0 <= i < len(task.labels)]
        if bad:
            raise XbenchError(f"{origin}, sentence {number}: tag id {bad[0]} is out of range (the task's tags "
                              f"are 0 to {len(task.labels) - 1}: {', '.join(task.labels)})")
        tags.append([task.labels[i] for i in row])
    return tags


HUB_TIMEOUT_S = 5.0


@cache
def hub_unreachable(dataset: str) -> str | None:
    """Why the Hub cannot serve ``dataset`` now (None when it can), asked once per process.

    One quick request without retries: ``datasets`` on its own retries five times with back-off
    (about 25 s) before it says the Hub is unreachable.
    """
    if os.environ.get("HF_HUB_OFFLINE", "0").upper() in ("1", "TRUE", "ON", "YES"):
        return "HF_HUB_OFFLINE is set"
    from huggingface_hub import dataset_info

    try:
        dataset_info(dataset, timeout=HUB_TIMEOUT_S)
    except Exception as err:  # connection errors, timeouts, 404s: all mean "not from the Hub now"
        return (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
    return None


@contextmanager
def _offline_hub():
    """``datasets`` and ``huggingface_hub`` in offline mode: cached data only, no network, no retries."""
    import datasets.config
    import huggingface_hub.constants

    saved = datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = huggingface_hub.constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE = saved


def _load_hub(task: Task, lang: str, splits: tuple[str, ...]):
    from datasets import load_dataset

    if task.hub_dataset is None:
        raise XbenchError(f"task {task.name} has no Hugging Face Hub dataset: pass --data-dir (or set "
                          f"${DATA_DIR_ENV}) to a local folder of its data")
    config = task.hub_config.format(lang=lang)
    reason = hub_unreachable(task.hub_dataset)
    try:
        # Unreachable: the datasets cache may still hold it; ask it without the network.
        with _offline_hub() if reason else nullcontext():
            loaded = load_dataset(task.hub_dataset, config)
    except Exception as err:  # the hub raises many types: connection, missing config, auth
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        why = f"the Hub cannot be reached ({reason}) and it is not cached" if reason else first_line[:200]
        raise XbenchError(f"cannot load {task.hub_dataset} config {config!r} from the Hugging Face Hub: {why}; "
                          f"pass --data-dir, set ${DATA_DIR_ENV} or data_dir in xbench.toml "
                          "(`xbench config` shows what is in force)") from None
    return normalise_hub_layout(task, {s: loaded[s] for s in splits}, f"{task.hub_dataset}/{config}")


def read_sentences(task: Task, source: DataSource, lang: str, split: str) -> TaggedSentences:
    """One split of one language as tag strings, from any source."""
    if source.kind in TEXT_LAYOUTS:
        return source.read_split(task, lang, split)
    dataset = source.load(task, lang, splits=(split,))[split]
    origin = f"{source.describe()}, {lang} {split} split"
    return TaggedSentences(list(dataset["tokens"]), tag_strings(task, dataset["ner_tags"], origin))


def content_sha256(sentences: TaggedSentences) -> str:
    """A checksum of the sentences themselves, the same whichever layout they were read from."""
    import hashlib

    digest = hashlib.sha256()
    for words, tags in zip(sentences.tokens, sentences.tags):
        digest.update("\n".join(f"{w}\t{t}" for w, t in zip(words, tags)).encode("utf-8"))
        digest.update(b"\n\n")
    return digest.hexdigest()
