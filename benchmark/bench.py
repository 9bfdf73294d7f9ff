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
- hardware: measured fp32 and bf16 matmul throughput and the share of it training reaches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.align import encode_split
from benchmark.data.conll import count_sentences
from benchmark.data.sources import read_sentences, resolve_source
from benchmark.evaluate import ids_to_tags, predict_word_tags, score
from benchmark.hardware import matmul_throughput, resolve_bf16
from benchmark.models.loading import load_token_classifier, load_tokenizer, model_folder
from benchmark.models.registry import resolve_model
from benchmark.tasks import get_task


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
    from benchmark.train import train_model

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

    from benchmark.stats import holm, resample_languages

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


def run_bench(data_dir, model_name: str, train_sentences: int, eval_sentences: int, epochs: int, batch_size: int,
              lr: float, seed: int, n_resamples: int, work: Path, log=print) -> str:
    import importlib.util

    from benchmark.errors import XbenchError

    if importlib.util.find_spec("accelerate") is None:
        raise XbenchError("xbench bench compares against transformers' Trainer, which needs accelerate: "
                          "pip install -e '.[bench]'")
    task = get_task("wikiann")
    source = resolve_source(data_dir)
    report = ["xbench bench: each figure measured in this run, on this machine and data", ""]

    fp32 = matmul_throughput("float32", size=1024)
    bf16 = matmul_throughput("bfloat16", size=1024, repeats=2)
    report += ["hardware (1024x1024 matmul, all threads)",
               f"  fp32 {fp32 / 1e9:8.1f} GFLOP/s   bf16 {bf16 / 1e9:8.1f} GFLOP/s   bf16/fp32 {bf16 / fp32:.2f}x", ""]
    log(report[-2])

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
               f"{100 * t['baseline_dev_f1']:.2f}, difference {100 * (t['xbench_dev_f1'] - t['baseline_dev_f1']):+.2f}",
               f"  share of peak: {t['xbench_model_flops_per_s'] / 1e9:.1f} GFLOP/s of encoder matmuls = "
               f"{100 * t['xbench_model_flops_per_s'] / peak:.0f}% of the measured "
               f"{'bf16' if t['bf16'] else 'fp32'} peak", ""]

    test = read_sentences(task, source, "de", "test")
    test.tokens, test.tags = test.tokens[:eval_sentences], test.tags[:eval_sentences]
    e = bench_evaluation(task, model_name, test, 512, seed, work, log)
    report += [f"evaluation: {eval_sentences} de test sentences, window 512 for both "
               "(baseline: Trainer.predict, first-subword predictions)",
               _line("sentences/s", e["xbench"].sentences_per_s, e["baseline"].sentences_per_s, "sent/s"),
               f"  identical predictions: {'yes' if e['identical'] else 'NO'} "
               f"({e['differing_sentences']} of {eval_sentences} sentences differ)", ""]

    s = bench_statistics(task, source, n_resamples, naive_resamples=3, log=log)
    report += [f"statistics: significance tests of a report, {s['languages']} languages x 2 models x 3 seeds x "
               f"{n_resamples:,} resamples (baseline: seqeval per resample, extrapolated)",
               f"  xbench {s['fast_seconds']:.1f} s   naive {s['naive_seconds']:,.0f} s   ratio "
               f"{s['naive_seconds'] / s['fast_seconds']:,.0f}x", ""]
    return "\n".join(report)

