"""Zero-shot evaluation of every pending target as one stream of batches, the CPU work beside it.

Three threads feed and drain the forward passes, which the calling thread runs:

1. *loading*: read a target's test split, take its windows from the encoded-split cache (or
   tokenise and store them), flatten its gold tags and extract the gold spans once;
2. *batching*: group whole targets into chunks of at least :data:`CHUNK_WINDOWS` windows, sort
   each chunk's windows by length across its targets (small targets share batches instead of
   each ending in a half-empty one) and pad them into tensors, ready before they are needed;
3. *finishing*: put each batch's argmax back in place; when a target's last window is done,
   gather one tag per word, score it from counts (:mod:`benchmark.eval.spans`) and write its
   predictions and the result file, so every finished target is saved as it completes.

Chunks hold whole targets, in order, so an interrupted evaluation loses at most the targets
of the chunk in flight. Small targets (100 to 1,000 sentences) share batches instead of each
ending in a half-empty one, and a big target's windows are sorted together with its
neighbours'. Each window is predicted from the same input ids and attention mask as before;
only which windows share a batch changes. ``tests/test_pipeline.py`` checks that every
prediction file is byte-identical to the one-target-at-a-time evaluation.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from benchmark.data.conll import TaggedSentences, count_scheme_breaks
from benchmark.encoding.packed import PackedSplit
from benchmark.faults import fault_point
from benchmark.signals import forget_stop, stop_requested
from benchmark.timing import CLOCK

# Windows per chunk, at least: on the 53 full test splits (scripts/padding_check.py) batches per
# target compute 1.087 tokens per real one, chunks of >= 4,096 windows 1.057, of >= 16,384 1.027,
# one sort over everything 1.001; an interrupted run loses at most a chunk (~2 min on 2 CPU cores).
CHUNK_WINDOWS = 16384
QUEUE_DEPTH = 8  # batches padded ahead of the forward passes


@dataclass
class LoadedTarget:
    """One target's test split, ready to predict, and its predictions as they arrive."""

    lang: str
    test: TaggedSentences
    packed: PackedSplit
    test_sha256: str
    gold: object  # spans.FlatTags, or the tag strings when seqeval scores (non-IOB2 labels)
    gold_spans: object | None
    remaining: int = 0  # windows not yet predicted
    token_start: int = 0  # where its positions start in its chunk's flat arrays
    started: float | None = None


@dataclass
class Chunk:
    targets: list[LoadedTarget]
    input_ids: np.ndarray
    offsets: np.ndarray  # n_windows + 1, into input_ids
    owner: np.ndarray  # per window: index of its target in ``targets``
    last_window: np.ndarray  # per window: its sentence's last
    predictions: np.ndarray = field(default=None)  # int8 per position, filled batch by batch
    started: float | None = None


@dataclass
class Batch:
    chunk: Chunk
    windows: np.ndarray  # window indices in the chunk
    positions: np.ndarray  # flat positions (in the chunk) of the batch's real tokens
    valid: np.ndarray  # (rows, width) bool: which cells are real tokens
    input_ids: object  # torch tensors
    attention_mask: object


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


_DONE = object()


def in_background(items: Iterable, depth: int, stop: threading.Event, name: str,
                  started: list | None = None) -> Iterator:
    """Iterate ``items`` in a thread, ``depth`` ahead; its exceptions are raised here, in order.

    The thread is appended to ``started``, so that a consumer that stops can wait for it: a
    process must not exit while a thread is inside torch (the C++ runtime aborts it)."""
    slots: queue.Queue = queue.Queue(maxsize=depth)

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as err:  # handed to the consumer, which raises it
            put(_Failure(err))

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    if started is not None:
        started.append(thread)
    while True:
        try:
            item = slots.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():  # the consumer of this iterator gave up: so does this thread
                return
            continue
        if item is _DONE:
            return
        if isinstance(item, _Failure):
            raise item.error
        yield item


def load_targets(task, source, todo, tokenizer, max_length: int, test_limit: int | None, log) -> Iterator[LoadedTarget]:
    from benchmark.data.sources import content_sha256, read_sentences
    from benchmark.encoding.cache import cached_encoding, tokenizer_sha256
    from benchmark.eval import spans

    tokenizer_sha = tokenizer_sha256(tokenizer)
    vectorised = spans.supports(task.labels)
    codes = spans.label_codes(task.labels) if vectorised else None
    for lang in todo:
        with CLOCK.phase("tokenising"):
            test = read_sentences(task, source, lang, "test")
            if test_limit is not None:
                test = TaggedSentences(test.tokens[:test_limit], test.tags[:test_limit])
            sha = content_sha256(test)
            packed = cached_encoding(tokenizer, test, sha, max_length, tokenizer_sha=tokenizer_sha, log=log,
                                     description={"lang": lang, "split": "test", "task": task.name,
                                                  "tokenizer": str(getattr(tokenizer, "name_or_path", ""))})
        with CLOCK.phase("scoring"):
            gold = spans.flatten_tags(test.tags, task.labels) if vectorised else test.tags
            gold_spans = spans.extract_spans(gold, codes) if vectorised else None
        yield LoadedTarget(lang, test, packed, sha, gold, gold_spans, remaining=packed.n_windows)


def make_chunks(targets: Iterable[LoadedTarget], min_windows: int) -> Iterator[Chunk]:
    """Whole targets, in order, grouped until a group holds ``min_windows`` windows."""
    group: list[LoadedTarget] = []
    for target in targets:
        group.append(target)
        if sum(t.packed.n_windows for t in group) >= min_windows:
            yield _chunk(group)
            group = []
    if group:
        yield _chunk(group)


def _chunk(targets: list[LoadedTarget]) -> Chunk:
    start = 0
    for target in targets:
        target.token_start = start
        start += len(target.packed.input_ids)
    lengths = np.concatenate([t.packed.lengths for t in targets])
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    owner = np.repeat(np.arange(len(targets)), [t.packed.n_windows for t in targets])
    return Chunk(targets, np.concatenate([t.packed.input_ids for t in targets]), offsets, owner,
                 np.concatenate([t.packed.last_windows() for t in targets]),
                 predictions=np.zeros(start, dtype=np.int8))


def make_batches(chunks: Iterable[Chunk], batch_size: int, pad_id: int, pin: bool) -> Iterator[Batch]:
    """Each chunk's windows, longest first across its targets, padded into tensors."""
    import torch

    for chunk in chunks:
        lengths = np.diff(chunk.offsets)
        order = np.argsort(-lengths, kind="stable")
        for first in range(0, len(order), batch_size):
            windows = order[first: first + batch_size]
            width = int(lengths[windows].max()) if len(windows) else 0
            columns = np.arange(width)
            valid = columns[None, :] < lengths[windows][:, None]
            grid = chunk.offsets[windows][:, None] + columns[None, :]
            positions = grid[valid]
            ids = np.full(valid.shape, pad_id, dtype=np.int64)
            ids[valid] = chunk.input_ids[positions]
            input_ids, mask = torch.from_numpy(ids), torch.from_numpy(valid.astype(np.int64))
            if pin:
                input_ids, mask = input_ids.pin_memory(), mask.pin_memory()
            yield Batch(chunk, windows, positions, valid, input_ids, mask)


def wait_for(futures: list[Future]) -> None:
    from concurrent.futures import wait

    wait(list(futures))


def join_all(threads: list[threading.Thread], timeout_s: float = 60.0) -> None:
    """Wait for feeding threads that were told to stop (they stop within a batch)."""
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        while thread.is_alive() and time.monotonic() < deadline:
            thread.join(0.05)


class Finisher:
    """Puts predictions in place and, per finished target, scores and writes it (one thread)."""

    def __init__(self, task, result, path, write_to, in_use, test_limit, label, label_map, bar):
        self.task, self.result, self.path, self.test_limit = task, result, path, test_limit
        self.write_to, self.in_use = write_to, in_use
        self.label, self.label_map, self.bar = label, label_map, bar
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xbench-finish")
        self.futures: list[Future] = []

    def submit(self, batch: Batch, best: np.ndarray) -> None:
        self.futures.append(self.pool.submit(self._take, batch, best))
        self.raise_failures()

    def raise_failures(self) -> None:
        done = [f for f in self.futures if f.done()]
        self.futures = [f for f in self.futures if not f.done()]
        for future in done:
            future.result()

    def close(self, raise_failures: bool = True) -> None:
        """Finish what is queued (after a stop signal, only what is being written), then raise any
        failure. Waits on the futures, not on the thread: a join cut short by a signal can return
        at once when called again (CPython 3.11), a future's wait cannot."""
        wait_for(self.futures)
        self.pool.shutdown(wait=False)
        if raise_failures:
            self.raise_failures()

    def _take(self, batch: Batch, best: np.ndarray) -> None:
        if stop_requested():  # a stop signal: write no target that is not written yet
            return
        chunk = batch.chunk
        with CLOCK.phase("scoring"):
            if self.label_map is not None:
                best = self.label_map[best]
            chunk.predictions[batch.positions] = best[batch.valid]
            owners, counts = np.unique(chunk.owner[batch.windows], return_counts=True)
        self.bar.update(int(chunk.last_window[batch.windows].sum()))
        for owner, count in zip(owners.tolist(), counts.tolist()):
            target = chunk.targets[owner]
            target.remaining -= count
            if target.remaining == 0:
                self._finish(target, chunk)

    def _finish(self, target: LoadedTarget, chunk: Chunk) -> None:
        from benchmark.eval import spans
        from benchmark.results.store import new_sidecar, write_predictions, write_result

        task, packed, test = self.task, target.packed, target.test
        with CLOCK.phase("scoring"):
            first, word_of = packed.word_positions()
            window_predictions = chunk.predictions[target.token_start: target.token_start + len(packed.input_ids)]
            words = np.zeros(int(packed.words_per_sentence.sum()), dtype=np.int8)
            words[word_of] = window_predictions[first]
            predicted = spans.FlatTags(words, packed.words_per_sentence.astype(np.int64))
            if target.gold_spans is not None:
                scores, counts = spans.score_ids(target.gold, predicted, task.labels, target.gold_spans)
            else:  # a label set that is not IOB2: seqeval itself
                from benchmark.eval.predict import score, sentence_counts

                rows = [[task.labels[int(c)] for c in row] for row in spans.digit_rows(predicted)]
                scores, counts = score(test.tags, rows), sentence_counts(test.tags, rows)
            rows = spans.digit_rows(predicted)
        fault_point("evaluate")
        if stop_requested():  # stopped: this target is predicted, nothing of it is written yet
            return
        with CLOCK.phase("writing"):
            sidecar = new_sidecar(self.path, target.lang, self.in_use)
            sha = write_predictions(sidecar, {"lang": target.lang, "labels": list(task.labels), "tags": rows,
                                              "counts": counts.tolist()})
            self.result["targets"][target.lang] = {
                **scores, "n_sentences": len(test), "n_words": int(len(words)),
                "unmapped_words": packed.unmapped_words, "scheme_breaks_gold": count_scheme_breaks(test.tags),
                "test_limit": self.test_limit, "test_sha256": target.test_sha256,
                "seconds": round(time.perf_counter() - (chunk.started or time.perf_counter()), 2),
                "predictions": {"file": str(sidecar.relative_to(self.path.parent)), "sha256": sha},
            }
            write_result(self.write_to, self.result)
        self.bar.write(f"{self.label} {target.lang}: F1 {100 * scores['f1']:.2f} ({len(test):,} sentences, "
                       f"{self.result['targets'][target.lang]['seconds']:.0f} s)")
        target.test = target.packed = target.gold = target.gold_spans = None  # free as we go
        if all(t.packed is None for t in chunk.targets):
            chunk.predictions = chunk.input_ids = None


def _wind_down(finisher: Finisher, feeders: list[threading.Thread]) -> None:
    finisher.close(raise_failures=False)
    join_all(feeders)


def evaluate_targets(task, source, todo, model, tokenizer, pad_id: int, max_length: int, batch_size: int,
                     bf16: bool, result: dict, path, test_limit: int | None, show_progress: bool, label: str,
                     label_map: np.ndarray | None = None, log=None, write_to=None, in_use=None) -> None:
    """Predict, score and write every target of ``todo``; each result is written as it completes.

    The result goes to ``write_to`` (default ``path``, a staging file when a stored result is
    being replaced); predictions never overwrite a file in ``in_use`` (one the stored result
    still refers to), as :func:`benchmark.results.store.new_sidecar` chooses.
    """
    import torch

    from benchmark.eval.predict import model_device
    from benchmark.progress import progress
    from benchmark.run.unit import count_test_sentences

    model.eval()
    device = model_device(model)
    started = time.perf_counter()
    forget_stop()
    stop = threading.Event()
    sizes = count_test_sentences(task, source, todo, test_limit)
    bar = progress(sum(sizes.values()), f"evaluating {label} on {len(todo)} target(s)", "sentences",
                   enabled=show_progress)
    finisher = Finisher(task, result, path, write_to or path, in_use or set(), test_limit, label, label_map, bar)
    feeders: list[threading.Thread] = []
    loaded = in_background(load_targets(task, source, todo, tokenizer, max_length, test_limit, log), 2, stop,
                           "xbench-load", feeders)
    batches = in_background(make_batches(make_chunks(loaded, CHUNK_WINDOWS), batch_size, pad_id,
                                         pin=device.type == "cuda"), QUEUE_DEPTH, stop, "xbench-batch", feeders)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    try:
        with torch.inference_mode(), autocast:
            for batch in batches:
                if batch.chunk.started is None:
                    batch.chunk.started = time.perf_counter()
                with CLOCK.phase("forward"):
                    inputs = {"input_ids": batch.input_ids.to(device, non_blocking=True),
                              "attention_mask": batch.attention_mask.to(device, non_blocking=True)}
                    best = model(**inputs).logits.argmax(-1).cpu().numpy()
                finisher.submit(batch, best)
    except BaseException:
        stop.set()  # the feeding threads stop; a target being written is still written
        _wind_down(finisher, feeders)
        bar.close()
        raise
    stop.set()
    try:
        finisher.close()
    except KeyboardInterrupt:
        # A stop signal while the last targets are scored: the one being written is finished
        # before the stop is reported (a second signal stops at once).
        _wind_down(finisher, feeders)
        bar.close()
        raise
    bar.close()
    CLOCK.add("evaluation", time.perf_counter() - started)
