"""``xbench evaluate``: score a model that is already a token classifier, as given, no training.

A user's own fine-tuned model, one from the Hub, or one kept by ``xbench run --save-model`` is
evaluated zero-shot on every target exactly as ``run`` evaluates its own fine-tunes (same
windows, same first-subword prediction, same scoring), after its labels are mapped onto the
task's (:mod:`benchmark.models.labels`). Results go into the same store under the recipe key
``as-given``, so ``report`` and ``compare`` treat them like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from benchmark.data.languages import missing_message, select_languages
from benchmark.data.sources import read_sentences, resolve_source
from benchmark.data.tasks import Recipe, get_task
from benchmark.errors import XbenchError
from benchmark.models.registry import resolve_model, weights_sha256
from benchmark.progress import say
from benchmark.results.store import (
    AS_GIVEN,
    read_result,
    remove_unreferenced_sidecars,
    result_path,
    source_key,
    staging_path,
    swap_in_replacement,
)
from benchmark.run.plan import check_writable_folder
from benchmark.run.unit import (
    _evaluate_targets,
    _limited,
    final_table,
    git_commit,
    identity_refusal,
    library_versions,
    model_window,
    replacement_extra_targets,
    result_lock,
    test_limit_refusal,
)

DEFAULT_MAX_LENGTH = 128
DEFAULT_EVAL_BATCH_SIZE = 128


@dataclass
class EvaluateOptions:
    model: str
    task: str = "wikiann"
    sources: tuple[str, ...] | None = None  # None: from the kept model's xbench.json
    targets: str = "all"
    seed: int = 0
    model_alias: str | None = None
    data_dir: str | None = None
    results_dir: Path = Path("results")
    overwrite: str = "only-missing"
    max_length: int | None = None
    eval_batch_size: int | None = None
    test_limit: int | None = None
    bf16: str = "auto"
    device: str = "auto"
    show_progress: bool = True


def check_token_classifier(folder: Path, name: str):
    """The model's config, if the folder holds a token classifier; one clear line if not."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(folder), trust_remote_code=False)
    except (OSError, ValueError) as err:
        raise XbenchError(f"cannot read the config of {name!r} in {folder}: {str(err).splitlines()[0][:200]}") \
            from None
    architectures = getattr(config, "architectures", None) or []
    if not any(a.endswith("ForTokenClassification") for a in architectures):
        raise XbenchError(f"{name!r} ({folder}) is not a token classifier: its config names "
                          f"{', '.join(architectures) or 'no architecture'}, not *ForTokenClassification; "
                          "to fine-tune an encoder use `xbench run --model`")
    return config


def evaluate_as_given(options: EvaluateOptions) -> Path:
    """Evaluate one given model on every target; returns its result file."""
    from benchmark.models.labels import map_model_labels
    from benchmark.models.loading import model_folder
    from benchmark.models.saving import read_metadata
    from benchmark.run.hardware import resolve_bf16, resolve_device

    task = get_task(options.task)
    if options.overwrite not in ("never", "only-missing", "always"):
        raise XbenchError("--overwrite must be one of never, only-missing, always")
    for flag, value in (("--max-length", options.max_length), ("--eval-batch-size", options.eval_batch_size),
                        ("--test-limit", options.test_limit)):
        if value is not None and value < (8 if flag == "--max-length" else 1):
            raise XbenchError(f"{flag} must be >= {8 if flag == '--max-length' else 1}, got {value}")
    if options.seed < 0:
        raise XbenchError(f"--seed must be >= 0, got {options.seed}")
    spec = resolve_model(options.model, options.model_alias)
    if spec.random_init:
        raise XbenchError(f"{spec.name!r} has random weights: there is nothing to evaluate as given")
    source = resolve_source(options.data_dir)
    device = resolve_device(options.device)
    folder = model_folder(spec)
    config = check_token_classifier(folder, spec.name)
    label_map, dropped = map_model_labels(config.id2label, task.labels)
    kept = read_metadata(folder) if spec.local_path is not None else None
    sources = options.sources or (tuple(kept["sources"]) if kept and kept.get("sources") else None)
    if not sources:
        raise XbenchError("--source: say which language(s) the model was fine-tuned on (e.g. --source en); "
                          "only a model kept by `xbench run --save-model` records it")
    max_length = options.max_length or (kept or {}).get("max_length") or DEFAULT_MAX_LENGTH
    eval_batch_size = options.eval_batch_size or (kept or {}).get("eval_batch_size") or DEFAULT_EVAL_BATCH_SIZE
    selection = select_languages(task, options.targets, source)
    if selection.missing:
        say(f"note: {missing_message(selection, source)}; evaluating the {len(selection.present)} others.")
    if not selection.present:
        raise XbenchError(f"no target language has data in {source.describe()}")
    path = result_path(options.results_dir, task.name, AS_GIVEN, spec.key, tuple(sources), options.seed)
    check_writable_folder(Path(options.results_dir), "--results-dir")
    bf16, bf16_note = resolve_bf16(options.bf16, device)
    sha = spec.weights_sha256 or weights_sha256(folder)
    identity = {"task": task.name, "task_version": task.version, "model": spec.name, "weights_sha256": sha,
                "sources": sorted(sources), "seed": options.seed, "as_given": True, "max_length": max_length,
                "label_map": label_map.tolist(), "bf16": bf16}
    label = f"{spec.name} (as given)"
    with result_lock(path):
        existing = read_result(path) if path.exists() and options.overwrite != "always" else None
        if path.exists() and options.overwrite == "never":
            say(f"{label}: {path} exists; kept as it is (--overwrite never)")
            return path
        if existing is not None:
            refusal = identity_refusal(existing, identity, path) or \
                test_limit_refusal(existing, selection.present, options.test_limit, path)
            if refusal:
                raise XbenchError(refusal)
        done = set(existing["targets"]) if existing else set()
        todo = [t for t in selection.present if t not in done]
        replacing = options.overwrite == "always" and path.exists()
        if replacing:  # built beside the stored result and swapped in at the end; no target dropped
            todo += replacement_extra_targets(path, selection.present, source, label)
        if not todo:
            say(f"{label}: all {len(selection.present)} targets done in {path}")
        else:
            for lang in todo:  # a bad line in the last target should stop us before the first is scored
                _limited(read_sentences(task, source, lang, "test"), options.test_limit)
            _evaluate(task, source, spec, folder, config, label_map, dropped, sources, todo, existing, identity,
                      path, max_length, eval_batch_size, (bf16, bf16_note), device, options, label, replacing)
    click.echo(final_table(task, [path], selection.present))
    return path


def _evaluate(task, source, spec, folder, config, label_map, dropped, sources, todo, existing, identity, path,
              max_length, eval_batch_size, bf16_setting, device, options, label, replacing=False) -> None:
    from transformers import AutoModelForTokenClassification

    from benchmark.eval.predict import SEQEVAL_MODE
    from benchmark.models.loading import load_tokenizer
    from benchmark.run.hardware import describe_device

    bf16, bf16_note = bf16_setting
    say(f"{label}: {len(todo)} target(s) to evaluate on {describe_device(device)}; bf16 {bf16_note}")
    if dropped:
        say(f"{label}: the task has no {', '.join(sorted({d.split('-')[-1] for d in dropped}))}: "
              f"labels {', '.join(dropped)} are predicted as O")
    tokenizer = load_tokenizer(spec, folder)
    try:
        model = AutoModelForTokenClassification.from_pretrained(str(folder), use_safetensors=True,
                                                                trust_remote_code=False).to(device)
    except (OSError, ValueError) as err:
        raise XbenchError(f"cannot load the weights of {spec.name!r} from {folder}: "
                          f"{str(err).splitlines()[0][:200]}") from None
    window = model_window(model.config, max_length)
    if window < max_length:
        say(f"{label}: the model holds {window} positions; windows of {window} subwords, not {max_length}")
    # Evaluation reads only the window and the batch size of a recipe.
    recipe = Recipe(name=AS_GIVEN, description="evaluated as given, no training", lr=0.0, batch_size=1, epochs=0,
                    max_length=window, adam_epsilon=0.0, weight_decay=0.0, warmup_ratio=0.0, max_grad_norm=0.0,
                    train_limit=None, dev_limit=None, eval_batch_size=eval_batch_size)
    result = existing or {
        "task": task.name, "task_version": task.version, "identity": identity,
        "model": {"name": spec.name, "key": spec.key, "hub_id": spec.hub_id, "family": config.model_type,
                  "random_init": False, "pretraining_languages": sorted(spec.languages) if spec.languages else None,
                  "local_path": str(spec.local_path) if spec.local_path else None, "weights_sha256":
                  identity["weights_sha256"]},
        "sources": sorted(sources), "seed": options.seed, "recipe": None, "evaluated_as_given": True,
        "label_mapping": {"model_labels": [config.id2label[i] for i in range(len(label_map))],
                          "to_task": [task.labels[i] for i in label_map], "predicted_as_o": dropped},
        "seqeval_mode": SEQEVAL_MODE, "targets": {}, "training": None, "warnings": [],
    }
    result["config"] = {"bf16": bf16, "bf16_note": bf16_note, "device": describe_device(device),
                        "data_source": source.describe(), "max_length": window, "eval_batch_size": eval_batch_size}
    result["versions"] = library_versions()
    result["git_commit"] = git_commit()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    # --overwrite always: the stored result and its predictions stay whole until the new one is complete.
    in_use = set(path.with_suffix(".predictions").glob("*.json.gz")) if replacing else None
    _evaluate_targets(task, source, todo, model, tokenizer, pad_id, recipe, bf16, result, path, options, label,
                      label_map=label_map, write_to=staging_path(path) if replacing else path, in_use=in_use)
    if replacing:
        swap_in_replacement(path)
    remove_unreferenced_sidecars(path, result)
    say(f"{label}: results in {path} (trained on {source_key(tuple(sources))})")
