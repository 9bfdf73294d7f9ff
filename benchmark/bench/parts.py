"""``xbench bench``: xbench against the obvious way of doing the same work, side by side.

Each figure is measured in this one process on the same machine and data, and printed with
its ratio, since shared machines are noisy from one run to the next:

- training: xbench's loop vs transformers' ``Trainer`` set up as ``run_ner.py`` does it
  (``DataCollatorForTokenClassification``, default precision), same model, sentences, batch
  size and epochs; sentences/s, tokens/s and the dev F1 each reaches;
- evaluation: xbench's prediction vs ``Trainer.predict`` on the same sentences, predictions
  required to be identical;
- statistics: the report's significance tests (53 languages x 2 models x 3 seeds) vs a naive
  bootstrap that re-runs seqeval per resample, extrapolated from a few resamples;
- hardware: measured fp32 and bf16 matmul throughput and the share of it training reaches;
- scoring: a run's 53 targets scored from counts (:mod:`benchmark.eval.spans`) vs seqeval per target,
  and every committed prediction file checked identical;
- grid: one quick-recipe unit end to end (``xbench run`` in a fresh process) with its time split
  into training, tokenising, forward passes, scoring and writing, with the encoded-split cache
  cold and then warm (a second model with the same tokenizer), and today's code on the same unit
  when a checkout of it is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.data.conll import count_sentences
from benchmark.data.sources import read_sentences, resolve_source
from benchmark.data.tasks import get_task
from benchmark.encoding.align import encode_split
from benchmark.eval.predict import ids_to_tags, predict_word_tags, score
from benchmark.models.loading import load_token_classifier, load_tokenizer, model_folder
from benchmark.models.registry import resolve_model
from benchmark.run.hardware import matmul_throughput, resolve_bf16


@dataclass
class Timed:
    seconds: float
    sentences: int
    tokens: int

    @property
    def sentences_per_s(self) -> float:
        return self.sentences / self.seconds

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds


def _line(label: str, xbench: float, baseline: float, unit: str) -> str:
    return (f"  {label:<12} xbench {xbench:10.1f} {unit:<7} baseline {baseline:10.1f} {unit:<7} "
            f"ratio {xbench / baseline:6.2f}x")


def encoder_flops_per_token(config) -> float:
    """Forward FLOPs per token of the encoder's matrix products (2 x non-embedding weights)."""
    h, layers, ff = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    return 2.0 * layers * (4 * h * h + 2 * h * ff)


def bench_training(task, model_name: str, train, dev, epochs: int, batch_size: int, lr: float, seed: int,
                   max_length: int, work: Path, log) -> dict:
    import torch
    from datasets import Dataset
    from transformers import DataCollatorForTokenClassification, Trainer, TrainingArguments

    spec = resolve_model(model_name)
    folder = model_folder(spec)
    tokenizer = load_tokenizer(spec, folder)
    label_id = {name: i for i, name in enumerate(task.labels)}
    recipe = task.recipe("quick").with_overrides(epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length,
                                                 train_limit=len(train), dev_limit=len(dev))
    bf16, bf16_note = resolve_bf16("auto")
    tag_ids = [[label_id[t] for t in tags] for tags in train.tags]

    # xbench: tokenise once, first-subword labels, row-sparse AdamW, bf16 where it pays.
    from benchmark.train.loop import train_model

    model = load_token_classifier(spec, folder, task.labels, seed)
    started = time.perf_counter()
    encoded = encode_split(tokenizer, train.tokens, tag_ids, recipe.max_length)
    encoded_dev = encode_split(tokenizer, dev.tokens, None, recipe.max_length)
    pad_id = tokenizer.pad_token_id
    dev_scores = []

    def dev_f1(m) -> float:
        f1 = score(dev.tags, ids_to_tags(predict_word_tags(m, encoded_dev, pad_id, 128, bf16), task.labels))["f1"]
        dev_scores.append(f1)
        return f1

    eval_seconds = [0.0]

    def timed_dev_f1(m) -> float:
        tick = time.perf_counter()
        f1 = dev_f1(m)
        eval_seconds[0] += time.perf_counter() - tick
        return f1

    outcome = train_model(model, encoded, recipe, seed, pad_id, bf16, timed_dev_f1, work / "xbench-ckpt",
                          checkpoint_every_s=1e9, show_progress=False)
    xbench_seconds = time.perf_counter() - started - eval_seconds[0]
    tokens = sum(len(w) for w in encoded.windows) * epochs
    xbench = Timed(xbench_seconds, len(train) * epochs, tokens)
    xbench_f1 = outcome.best_dev_f1
    log(f"xbench training: {xbench_seconds:.0f} s, dev F1 {100 * xbench_f1:.2f} (bf16 {bf16_note})")

    # The baseline: run_ner.py's recipe through Trainer, default precision.
    model = load_token_classifier(spec, folder, task.labels, seed)
    model.get_input_embeddings().sparse = False
    started = time.perf_counter()
    rows = tokenizer(train.tokens, is_split_into_words=True, truncation=True, max_length=recipe.max_length)
    labels = []
    for i, tags in enumerate(tag_ids):
        previous, row = None, []
        for word in rows.word_ids(i):
            row.append(-100 if word is None or word == previous else tags[word])
            previous = word
        labels.append(row)
    dataset = Dataset.from_dict({"input_ids": rows["input_ids"], "attention_mask": rows["attention_mask"],
                                 "labels": labels})
    arguments = TrainingArguments(output_dir=str(work / "trainer"), per_device_train_batch_size=batch_size,
                                  num_train_epochs=epochs, learning_rate=lr, weight_decay=0.0, adam_epsilon=1e-8,
                                  lr_scheduler_type="linear", warmup_steps=0, max_grad_norm=1.0, seed=seed,
                                  save_strategy="no", eval_strategy="no", report_to=[], logging_strategy="no",
                                  disable_tqdm=True, use_cpu=True, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=arguments, train_dataset=dataset,
                      data_collator=DataCollatorForTokenClassification(tokenizer))
    trainer.train()
    trainer_seconds = time.perf_counter() - started
    trainer_tokens = sum(len(r) for r in rows["input_ids"]) * epochs
    baseline = Timed(trainer_seconds, len(train) * epochs, trainer_tokens)
    model.get_input_embeddings().sparse = False
    baseline_f1 = dev_f1(model)
    log(f"Trainer training: {trainer_seconds:.0f} s, dev F1 {100 * baseline_f1:.2f}")

    flops = 3 * encoder_flops_per_token(model.config) * tokens  # forward + backward = 3 x forward
    return {"xbench": xbench, "baseline": baseline, "xbench_dev_f1": xbench_f1, "baseline_dev_f1": baseline_f1,
            "xbench_model_flops_per_s": flops / xbench_seconds, "bf16": bf16, "steps": outcome.steps,
            "torch_threads": torch.get_num_threads()}


def bench_evaluation(task, model_name: str, test, max_length: int, seed: int, work: Path, log) -> dict:
    from datasets import Dataset
    from transformers import DataCollatorForTokenClassification, Trainer, TrainingArguments

    spec = resolve_model(model_name)
    folder = model_folder(spec)
    tokenizer = load_tokenizer(spec, folder)
    model = load_token_classifier(spec, folder, task.labels, seed)
    bf16, _ = resolve_bf16("auto")

    started = time.perf_counter()
    encoded = encode_split(tokenizer, test.tokens, None, max_length)
    ours = predict_word_tags(model, encoded, tokenizer.pad_token_id, 128, bf16)
    xbench_seconds = time.perf_counter() - started

    started = time.perf_counter()
    rows = tokenizer(test.tokens, is_split_into_words=True, truncation=True, max_length=max_length)
    dataset = Dataset.from_dict({"input_ids": rows["input_ids"], "attention_mask": rows["attention_mask"]})
    arguments = TrainingArguments(output_dir=str(work / "predict"), report_to=[], disable_tqdm=True, use_cpu=True)
    trainer = Trainer(model=model, args=arguments, data_collator=DataCollatorForTokenClassification(tokenizer))
    logits = trainer.predict(dataset).predictions
    theirs = []
    for i, words in enumerate(test.tokens):
        tags = np.zeros(len(words), dtype=np.int8)
        previous = None
        for position, word in enumerate(rows.word_ids(i)):
            if word is not None and word != previous:
                tags[word] = int(logits[i, position].argmax())
            previous = word
        theirs.append(tags)
    trainer_seconds = time.perf_counter() - started
    identical = all(np.array_equal(a, b) for a, b in zip(ours, theirs))
    differing = sum(not np.array_equal(a, b) for a, b in zip(ours, theirs))
    log(f"evaluation: xbench {xbench_seconds:.0f} s, Trainer.predict {trainer_seconds:.0f} s, "
        f"identical predictions: {identical} ({differing} sentences differ)")
    tokens = sum(len(r) for r in rows["input_ids"])
    return {"xbench": Timed(xbench_seconds, len(test), tokens), "baseline": Timed(trainer_seconds, len(test), tokens),
            "identical": identical, "differing_sentences": differing}


def bench_statistics(task, source, n_resamples: int, naive_resamples: int, log) -> dict:
    """The report's tests on 53 languages x 2 models x 3 seeds vs seqeval per resample."""
    from seqeval.metrics import f1_score

    from benchmark.stats.language_resamples import resample_languages
    from benchmark.stats.multiple import holm

    rng = np.random.default_rng(0)
    languages = source.available_languages(task)
    sizes, gold_en = {}, None
    for lang in languages:
        sizes[lang] = count_sentences(source.split_path(lang, "test"))
    gold_en = read_sentences(task, source, "en", "test")
    # Realistic per-sentence counts: each gold entity found with some probability per system.
    systems = {}
    for name, quality in (("a", 0.7), ("b", 0.6)):
        systems[name] = {}
        for lang, n in sizes.items():
            gold = rng.integers(0, 3, size=(3, n))
            tp = rng.binomial(gold, quality)
            fp = rng.binomial(1, 1 - quality, size=(3, n))
            systems[name][lang] = np.stack([tp, fp, gold - tp], axis=2)
    started = time.perf_counter()
    sample = resample_languages(systems, n_resamples=n_resamples, seed=0)
    per_language = [sample.compare("a", "b", [lang]) for lang in sample.languages]
    holm([c.p_value for c in per_language])
    sample.average("a"), sample.average("b"), sample.compare("a", "b")
    fast_seconds = time.perf_counter() - started
    log(f"statistics: {len(languages)} languages x 2 models x 3 seeds x {n_resamples:,} resamples in "
        f"{fast_seconds:.1f} s")

    # Naive: for each resample, gather the resampled sentences' tags and call seqeval, per seed
    # and model. Timed on English (10,000 sentences) and scaled by sentences.
    pred = [list(tags) for tags in gold_en.tags]
    for tags in pred[::7]:
        tags[0] = "B-PER"
    started = time.perf_counter()
    for _ in range(naive_resamples):
        idx = rng.integers(0, len(gold_en), size=len(gold_en))
        f1_score([gold_en.tags[i] for i in idx], [pred[i] for i in idx])
    per_resample_en = (time.perf_counter() - started) / naive_resamples
    total_sentences = sum(sizes.values())
    naive_seconds = per_resample_en * total_sentences / len(gold_en) * n_resamples * 2 * 3
    log(f"naive bootstrap: {per_resample_en:.2f} s per seqeval resample of {len(gold_en)} sentences -> "
        f"{naive_seconds:,.0f} s extrapolated")
    return {"fast_seconds": fast_seconds, "naive_seconds": naive_seconds, "languages": len(languages)}


PARTS = ("hardware", "training", "evaluation", "statistics", "scoring", "grid")


@dataclass
class GridSettings:
    targets: int = 53
    train_limit: int | None = None  # None: the quick recipe's own
    dev_limit: int | None = None
    test_limit: int | None = None
    second_model: str | None = None  # None: <model>-random (same tokenizer, other weights)
    baseline: Path | None = None  # a checkout of the code to compare with


def run_bench(data_dir, model_name: str, train_sentences: int, eval_sentences: int, epochs: int, batch_size: int,
              lr: float, seed: int, n_resamples: int, work: Path, log=print, parts: tuple[str, ...] = PARTS,
              results_dir: Path = Path("results"), grid: GridSettings | None = None) -> str:
    import importlib.util

    from benchmark.errors import XbenchError

    if {"training", "evaluation"} & set(parts) and importlib.util.find_spec("accelerate") is None:
        raise XbenchError("xbench bench compares against transformers' Trainer, which needs accelerate: "
                          "pip install -e '.[bench]'")
    task = get_task("wikiann")
    source = resolve_source(data_dir)
    report = ["xbench bench: each figure measured in this run, on this machine and data", ""]

    fp32 = bf16 = None
    if "hardware" in parts or "training" in parts:
        fp32 = matmul_throughput("float32", size=1024)
        bf16 = matmul_throughput("bfloat16", size=1024, repeats=2)
        report += ["hardware (1024x1024 matmul, all threads)",
                   f"  fp32 {fp32 / 1e9:8.1f} GFLOP/s   bf16 {bf16 / 1e9:8.1f} GFLOP/s   bf16/fp32 {bf16 / fp32:.2f}x",
                   ""]
        log(report[-2])

    if "training" in parts:
        train = read_sentences(task, source, "en", "train")
        train.tokens, train.tags = train.tokens[:train_sentences], train.tags[:train_sentences]
        dev = read_sentences(task, source, "en", "validation")
        dev.tokens, dev.tags = dev.tokens[:1000], dev.tags[:1000]
        t = bench_training(task, model_name, train, dev, epochs, batch_size, lr, seed, 128, work, log)
        peak = max(fp32, bf16) if t["bf16"] else fp32
        report += [f"training: {model_name}, {train_sentences} en sentences, batch {batch_size}, {epochs} epochs, "
                   f"lr {lr} (baseline: Trainer as run_ner.py, fp32)",
                   _line("sentences/s", t["xbench"].sentences_per_s, t["baseline"].sentences_per_s, "sent/s"),
                   _line("tokens/s", t["xbench"].tokens_per_s, t["baseline"].tokens_per_s, "tok/s"),
                   f"  dev F1 (1,000 en dev sentences): xbench {100 * t['xbench_dev_f1']:.2f}, Trainer "
                   f"{100 * t['baseline_dev_f1']:.2f}, difference "
                   f"{100 * (t['xbench_dev_f1'] - t['baseline_dev_f1']):+.2f}",
                   f"  share of peak: {t['xbench_model_flops_per_s'] / 1e9:.1f} GFLOP/s of encoder matmuls = "
                   f"{100 * t['xbench_model_flops_per_s'] / peak:.0f}% of the measured "
                   f"{'bf16' if t['bf16'] else 'fp32'} peak", ""]

    if "evaluation" in parts:
        test = read_sentences(task, source, "de", "test")
        test.tokens, test.tags = test.tokens[:eval_sentences], test.tags[:eval_sentences]
        e = bench_evaluation(task, model_name, test, 512, seed, work, log)
        report += [f"evaluation: {eval_sentences} de test sentences, window 512 for both "
                   "(baseline: Trainer.predict, first-subword predictions)",
                   _line("sentences/s", e["xbench"].sentences_per_s, e["baseline"].sentences_per_s, "sent/s"),
                   f"  identical predictions: {'yes' if e['identical'] else 'NO'} "
                   f"({e['differing_sentences']} of {eval_sentences} sentences differ)", ""]

    if "statistics" in parts:
        s = bench_statistics(task, source, n_resamples, naive_resamples=3, log=log)
        report += [f"statistics: significance tests of a report, {s['languages']} languages x 2 models x 3 seeds x "
                   f"{n_resamples:,} resamples (baseline: seqeval per resample, extrapolated)",
                   f"  xbench {s['fast_seconds']:.1f} s   naive {s['naive_seconds']:,.0f} s   ratio "
                   f"{s['naive_seconds'] / s['fast_seconds']:,.0f}x", ""]

    if "scoring" in parts:
        c = bench_scoring(task, source, results_dir, log)
        report += [f"scoring: the {c['targets']} targets of {c['timed_run']} ({c['sentences']:,} sentences), from word "
                   "tag ids to scores and per-sentence counts (baseline: seqeval per target, as xbench did)",
                   f"  from counts {c['fast_seconds']:.2f} s   seqeval {c['seqeval_seconds']:.1f} s   ratio "
                   f"{c['seqeval_seconds'] / c['fast_seconds']:.1f}x   identical there: "
                   f"{'yes' if c['same_on_timed'] else 'NO'}",
                   f"  every committed prediction file scored from counts: {c['identical']} of {c['checked']} "
                   "identical to the scores and counts seqeval stored", ""]

    if "grid" in parts:
        grid = grid or GridSettings()
        second = grid.second_model or f"{model_name}-random"
        g = bench_grid(task, source, data_dir, model_name, second, grid.targets, grid.train_limit, grid.dev_limit,
                       grid.test_limit, seed, grid.baseline, work, log)
        settings = "".join(f", {flag} {value}" for flag, value in (
            ("--train-limit", grid.train_limit), ("--dev-limit", grid.dev_limit), ("--test-limit", grid.test_limit))
            if value is not None)
        report += grid_report(g, model_name, second, settings) + [""]
    return "\n".join(report)


def bench_scoring(task, source, results_dir: Path, log) -> dict:
    """Scoring a run's 53 targets: seqeval per target (as xbench did) vs counts from arrays.

    Timed on the committed run with the most sentences; both start from the word tag ids a
    run holds in memory and end with the result's scores and per-sentence counts. Then every
    committed prediction file is scored from counts and compared with the scores stored in its
    result, which seqeval computed.
    """
    from benchmark.eval import spans
    from benchmark.eval.predict import sentence_counts
    from benchmark.results.store import iter_result_files, read_predictions, read_result

    files = [p for p in iter_result_files(results_dir) if read_result(p)["task"] == task.name]
    if not files:
        from benchmark.errors import XbenchError

        raise XbenchError(f"no {task.name} results in {results_dir} to score (--results-dir)")
    gold_cache: dict = {}

    def gold(lang: str, limit):
        if (lang, limit) not in gold_cache:
            test = read_sentences(task, source, lang, "test")
            gold_cache[lang, limit] = test.tags[:limit] if limit else test.tags
        return gold_cache[lang, limit]

    def predictions(path: Path, target: dict) -> list[np.ndarray]:
        stored = read_predictions(path.parent / target["predictions"]["file"], target["predictions"]["sha256"])
        return [np.frombuffer(row.encode("ascii"), dtype=np.uint8).astype(np.int8) - ord("0") for row in stored["tags"]]

    timed_path = max(files, key=lambda p: sum(t["n_sentences"] for t in read_result(p)["targets"].values()))
    timed = read_result(timed_path)
    inputs = [(gold(lang, t.get("test_limit")), predictions(timed_path, t))
              for lang, t in sorted(timed["targets"].items())]
    started = time.perf_counter()
    reference = []
    for gold_tags, predicted in inputs:
        tags = ids_to_tags(predicted, task.labels)
        reference.append((score(gold_tags, tags), sentence_counts(gold_tags, tags)))
    seqeval_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fast = []
    for gold_tags, predicted in inputs:
        fast.append(spans.score_ids(spans.flatten_tags(gold_tags, task.labels), spans.flatten_ids(predicted),
                                    task.labels))
    fast_seconds = time.perf_counter() - started
    same_timed = all(a[0] == b[0] and np.array_equal(a[1], b[1]) for a, b in zip(reference, fast))
    checked = identical = 0
    for path in files:
        result = read_result(path)
        for lang, target in result["targets"].items():
            gold_tags = gold(lang, target.get("test_limit"))
            stored = read_predictions(path.parent / target["predictions"]["file"], target["predictions"]["sha256"])
            scores, counts = spans.score_ids(spans.flatten_tags(gold_tags, task.labels),
                                             spans.flatten_digit_rows(stored["tags"]), task.labels)
            checked += 1
            identical += scores == {k: target[k] for k in ("f1", "precision", "recall", "per_type")} and \
                np.array_equal(counts, np.asarray(stored["counts"], dtype=np.int32).reshape(-1, 3))
    n_sentences = sum(len(g) for g, _ in inputs)
    log(f"scoring: seqeval {seqeval_seconds:.1f} s, from counts {fast_seconds:.2f} s on {len(inputs)} targets; "
        f"{identical} of {checked} committed prediction files identical")
    return {"seqeval_seconds": seqeval_seconds, "fast_seconds": fast_seconds, "targets": len(inputs),
            "sentences": n_sentences, "same_on_timed": same_timed, "checked": checked, "identical": identical,
            "timed_run": str(timed_path)}


# Runs one `xbench run` through the CLI of the checkout in the working folder and, when that
# checkout has benchmark.timing, writes its phase clock to $XBENCH_PHASES at exit.
_UNIT_SCRIPT = """
import atexit, json, os, sys
try:
    from benchmark.timing import CLOCK
    atexit.register(lambda: open(os.environ["XBENCH_PHASES"], "w").write(json.dumps(CLOCK.snapshot())))
except ImportError:
    pass
sys.argv = ["xbench", *json.loads(sys.argv[1])]
from benchmark.cli import main
main()
"""


def run_unit(checkout: Path, args: list[str], cache: Path, phases_file: Path, log) -> dict:
    """One unit as a user runs it (a fresh process), with its wall time and, if recorded, its phases."""
    import json
    import os
    import subprocess
    import sys

    from benchmark.config import cache_root

    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / "models").exists() and (cache_root() / "models").is_dir():
        (cache / "models").symlink_to((cache_root() / "models").resolve())  # converted models are not the subject
    env = {**os.environ, "XBENCH_CACHE_DIR": str(cache), "XBENCH_PHASES": str(phases_file), "PYTHONPATH": str(checkout)}
    import resource

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    started, cpu_before = time.perf_counter(), children_cpu()
    done = subprocess.run([sys.executable, "-c", _UNIT_SCRIPT, json.dumps(args)], cwd=checkout, env=env,
                          capture_output=True, text=True)
    # On a shared machine a process's CPU time moves far less with the load than its wall time.
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu_before
    if done.returncode != 0:
        from benchmark.errors import XbenchError

        raise XbenchError(f"the unit in {checkout} failed: {done.stderr.strip().splitlines()[-1:]}")
    phases = json.loads(phases_file.read_text()) if phases_file.exists() else None
    log(f"unit in {checkout}: {wall:.0f} s wall, {cpu:.0f} s CPU")
    return {"wall": wall, "cpu": cpu, "phases": phases}


def bench_grid(task, source, data_dir, model_name: str, second_model: str, n_targets: int, train_limit: int | None,
               dev_limit: int | None, test_limit: int | None, seed: int, baseline: Path | None, work: Path,
               log) -> dict:
    """One quick-recipe unit end to end, cold and with the encoded-split cache warm, and today's
    code (another checkout) on the same unit, each in a fresh process one after the other."""
    from benchmark.errors import XbenchError
    from benchmark.results.store import iter_result_files, read_result

    if source.root is None:
        raise XbenchError("the grid part needs local data: pass --data-dir")
    targets = source.available_languages(task)[:n_targets]
    common = ["run", "--recipe", "quick", "--targets", ",".join(targets), "--data-dir",
              str(Path(source.root).resolve()), "--seeds", str(seed), "--no-progress", "--bf16", "off"]
    for flag, value in (("--train-limit", train_limit), ("--dev-limit", dev_limit), ("--test-limit", test_limit)):
        if value is not None:
            common += [flag, str(value)]
    here = Path(__file__).resolve().parents[2]
    cache = work / "grid-cache"
    units = {}
    if baseline is not None:
        units["today"] = run_unit(Path(baseline).resolve(), common + ["--model", model_name, "--results-dir",
                                                                        str(work / "grid-today")],
                                  work / "grid-cache-today", work / "phases-today.json", log)
    units["cold"] = run_unit(here, common + ["--model", model_name, "--results-dir", str(work / "grid-cold")], cache,
                             work / "phases-cold.json", log)
    units["warm"] = run_unit(here, common + ["--model", second_model, "--results-dir", str(work / "grid-warm")], cache,
                             work / "phases-warm.json", log)
    for name, unit in units.items():
        [path] = iter_result_files(work / f"grid-{name}")
        result = read_result(path)
        unit["training_seconds"] = result["training"]["seconds"]
        unit["target_seconds"] = sum(t["seconds"] for t in result["targets"].values())
        unit["sentences"] = sum(t["n_sentences"] for t in result["targets"].values())
        unit["path"] = path
    identical = None
    if "today" in units:
        today, cold = read_result(units["today"]["path"]), read_result(units["cold"]["path"])
        identical = sum(
            (units["today"]["path"].parent / today["targets"][lang]["predictions"]["file"]).read_bytes()
            == (units["cold"]["path"].parent / cold["targets"][lang]["predictions"]["file"]).read_bytes()
            for lang in today["targets"])
    return {"units": units, "targets": targets, "identical": identical}


def grid_report(grid: dict, model_name: str, second_model: str, settings: str) -> list[str]:
    from benchmark.timing import PHASES

    units = grid["units"]
    lines = [f"grid: one quick-recipe unit end to end as `xbench run` in a fresh process, {len(grid['targets'])} "
             f"targets ({units['cold']['sentences']:,} test sentences){settings}; phases are seconds of work "
             "summed over threads (they overlap)",
             "  " + f"{'unit':<40}{'wall':>9}{'CPU':>9}" + "".join(f"{p:>12}" for p in PHASES)
             + f"{'evaluation':>12}"]
    labels = {"today": f"today's code, {model_name}", "cold": f"xbench, {model_name}, cache cold",
              "warm": f"xbench, {second_model}, cache warm"}
    for name, unit in units.items():
        phases = unit["phases"]
        if phases is None:  # today's code records no phases: its result's training and per-target seconds
            cells = [f"{unit['training_seconds']:12.1f}"] + [f"{'-':>12}"] * (len(PHASES) - 1) + \
                [f"{unit['target_seconds']:12.1f}"]
        else:
            cells = [f"{phases[p]:12.1f}" for p in PHASES] + [f"{phases['evaluation']:12.1f}"]
        lines.append(f"  {labels[name]:<40}{unit['wall']:8.1f}s{unit['cpu']:8.1f}s" + "".join(cells))
    cold, warm = units["cold"]["phases"], units["warm"]["phases"]
    lines.append(f"  evaluation, second model vs first (cache warm vs cold): {cold['evaluation']:.1f} s / "
                 f"{warm['evaluation']:.1f} s = {cold['evaluation'] / warm['evaluation']:.2f}x")
    if "today" in units:
        lines.append(f"  end to end, today's code vs xbench (cold): wall {units['today']['wall']:.1f} s / "
                     f"{units['cold']['wall']:.1f} s = {units['today']['wall'] / units['cold']['wall']:.2f}x; "
                     f"CPU {units['today']['cpu']:.1f} s / {units['cold']['cpu']:.1f} s = "
                     f"{units['today']['cpu'] / units['cold']['cpu']:.2f}x")
        lines.append(f"  evaluation, today's code vs xbench (cold): {units['today']['target_seconds']:.1f} s / "
                     f"{cold['evaluation']:.1f} s = {units['today']['target_seconds'] / cold['evaluation']:.2f}x")
        lines.append(f"  prediction files identical to today's code's: {grid['identical']} of "
                     f"{len(grid['targets'])}")
    return lines
