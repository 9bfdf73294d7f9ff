"""Fine-tuning on the source language, with checkpoints that resume exactly.

The loop follows XTREME's PAN-X recipe (AdamW, linear decay, gradient clipping, the checkpoint
best on the source dev split). Everything a resumed run needs is one plain dict on disk: the
weights, the optimizer, the step, the RNG state and the dev curve. The order of batches in an
epoch is a pure function of (seed, epoch), so a run resumed mid-epoch replays exactly the
batches it would have seen.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.data.tasks import Recipe
from benchmark.encoding.align import EncodedSplit
from benchmark.eval.predict import collate, model_device
from benchmark.faults import fault_point
from benchmark.signals import deferred_stop_signals

CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINT_FORMAT = 2  # bump when the saved dict changes; an older checkpoint is not resumed
BEST_FILE = "best.safetensors"


def lr_multiplier(step: int, total_steps: int, warmup_steps: int) -> float:
    """Linear warmup to 1, then linear decay to 0 at ``total_steps`` (transformers' schedule).

    >>> [lr_multiplier(s, 10, 0) for s in (0, 5, 10)]
    [1.0, 0.5, 0.0]
    """
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


MEGABATCH = 50  # batches per length-sorted group, as transformers' LengthGroupedSampler


def epoch_batches(lengths: list[int], batch_size: int, seed: int, epoch: int, batching: str) -> list[list[int]]:
    """The batches of one epoch, a pure function of (seed, epoch), so a resumed run replays them.

    ``random``: a shuffled order cut into batches. ``length-grouped``: the shuffled order is cut
    into groups of 50 batches, each group sorted by length before it is cut into batches, and
    the batches shuffled: batches hold windows of similar length, so far less of the compute
    goes to padding, while every epoch still sees the data in a new random order.

    >>> [len(b) for b in epoch_batches([5, 1, 3, 2, 4], 2, seed=0, epoch=0, batching="random")]
    [2, 2, 1]
    """
    import torch

    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    if batching == "length-grouped":
        group = batch_size * MEGABATCH
        order = [i for start in range(0, len(order), group)
                 for i in sorted(order[start: start + group], key=lambda i: -lengths[i])]
    batches = [order[start: start + batch_size] for start in range(0, len(order), batch_size)]
    if batching == "length-grouped":
        shuffled = torch.randperm(len(batches), generator=generator).tolist()
        batches = [batches[i] for i in shuffled]
    return batches


class DenseAdamW:
    """torch AdamW with clip_grad_norm_, behind the same interface as RowSparseAdamW.

    Used with weight decay, which moves every embedding row at every step.
    """

    def __init__(self, model, recipe: Recipe):
        import torch

        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
        named = list(model.named_parameters())
        self.params = [p for _, p in named]
        self.dense = torch.optim.AdamW([
            {"params": [p for n, p in named if not n.endswith(no_decay)], "weight_decay": recipe.weight_decay},
            {"params": [p for n, p in named if n.endswith(no_decay)], "weight_decay": 0.0},
        ], lr=recipe.lr, eps=recipe.adam_epsilon)

    def clip_and_step(self, max_norm: float) -> float:
        import torch

        total = torch.nn.utils.clip_grad_norm_(self.params, max_norm)
        self.dense.step()
        return float(total)

    def zero_grad(self) -> None:
        self.dense.zero_grad(set_to_none=True)

    def state_dict(self) -> dict:
        return self.dense.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.dense.load_state_dict(state)


def make_optimizer(model, recipe: Recipe):
    """Row-sparse AdamW (same result, far less work on a large vocabulary) unless weight decay."""
    from benchmark.train.optim import RowSparseAdamW

    if recipe.weight_decay == 0:
        return RowSparseAdamW(model, lr=recipe.lr, eps=recipe.adam_epsilon, weight_decay=0.0)
    return DenseAdamW(model, recipe)


@dataclass
class TrainOutcome:
    dev_curve: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_dev_f1: float = -1.0
    steps: int = 0
    seconds: float = 0.0
    train_windows: int = 0
    train_subwords: int = 0
    resumed_from_step: int | None = None


def _write_beside(path: Path, write, fault: str | None = None) -> None:
    """``write(tmp)`` then rename onto ``path``: the old file or the whole new one, never a mix.

    A full disk (or any OSError) removes the temporary file and is one line; a stop signal
    waits for the rename, so a checkpoint is never cut in two.
    """
    from benchmark.errors import XbenchError

    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with deferred_stop_signals():
        try:
            write(tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            if fault:
                fault_point(fault)
            os.replace(tmp, path)
        except (OSError, RuntimeError) as err:  # torch.save reports a full disk as RuntimeError
            tmp.unlink(missing_ok=True)
            reason = getattr(err, "strerror", None) or str(err).strip().splitlines()[0][:160]
            raise XbenchError(f"cannot write the training checkpoint {path}: {reason}; free some space there "
                              "or point $XBENCH_CACHE_DIR at another folder, then run the same command again") from None
        finally:
            tmp.unlink(missing_ok=True)


def _atomic_torch_save(obj, path: Path) -> None:
    import torch

    _write_beside(path, lambda tmp: torch.save(obj, tmp), fault="checkpoint-write")


def _save_best(model, path: Path) -> None:
    from safetensors.torch import save_model

    _write_beside(path, lambda tmp: save_model(model, str(tmp)))


def load_best(model, checkpoint_dir: Path) -> None:
    from safetensors.torch import load_model

    load_model(model, str(checkpoint_dir / BEST_FILE))


def _best_is_readable(checkpoint_dir: Path) -> bool:
    from safetensors import safe_open

    try:
        with safe_open(str(checkpoint_dir / BEST_FILE), framework="pt") as handle:
            handle.keys()
        return True
    except Exception:  # missing, cut off or not safetensors: safetensors raises several types
        return False


def _set_aside(path: Path, why: str) -> None:
    """Rename an unusable checkpoint so training starts afresh (the run's folder is removed when done)."""
    import sys

    aside = path.with_name(path.name + ".set-aside")
    os.replace(path, aside)
    print(f"note: {why}; set aside as {aside.name}, training starts afresh (the same seed gives the same "
          "model)", file=sys.stderr)


def _read_checkpoint(path: Path) -> dict | None:
    """A checkpoint to resume from, or None; an unreadable or foreign one is set aside, not fatal."""
    import torch

    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # never unpickles code
    except Exception as err:  # a damaged file: torch raises many types
        _set_aside(path, f"cannot resume from {path} ({type(err).__name__})")
        return None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        _set_aside(path, f"{path} is from another xbench version")
        return None
    if state["outcome"].get("best_epoch", 0) > 0 and not _best_is_readable(path.parent):
        # The best weights of the epochs done are gone: resuming could not return the best model.
        _set_aside(path, f"{path.parent / BEST_FILE} is missing or damaged, so {path} cannot give the best model")
        return None
    return state


def _kept(step: int, total_steps: int, checkpoint_dir: Path) -> str:
    return f"training checkpoint saved at step {step} of {total_steps} in {checkpoint_dir}"


def train_model(model, train: EncodedSplit, recipe: Recipe, seed: int, pad_id: int, bf16: bool,
                dev_f1: Callable[[object], float], checkpoint_dir: Path,
                checkpoint_every_s: float = 300.0, show_progress: bool = True) -> TrainOutcome:
    """Fine-tune ``model`` in place; on return it holds the weights best on the dev split."""
    import torch

    from benchmark.progress import progress

    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    device = model_device(model)
    windows = train.windows
    lengths = [len(w) for w in windows]
    steps_per_epoch = math.ceil(len(windows) / recipe.batch_size)
    total_steps = steps_per_epoch * recipe.epochs
    optimizer = make_optimizer(model, recipe)
    warmup = int(recipe.warmup_ratio * total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer.dense, lambda s: lr_multiplier(s, total_steps, warmup))

    outcome = TrainOutcome(train_windows=len(windows), train_subwords=sum(len(w) for w in windows))
    step, loss_sum, loss_count = 0, 0.0, 0
    path = checkpoint_dir / CHECKPOINT_FILE
    state = _read_checkpoint(path)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], device)  # dropout draws from the GPU's generator
        step, loss_sum, loss_count = state["step"], state["loss_sum"], state["loss_count"]
        outcome = TrainOutcome(**state["outcome"])
        outcome.resumed_from_step = step

    def save_checkpoint() -> None:
        outcome.steps = step
        _atomic_torch_save({
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            "step": step, "loss_sum": loss_sum, "loss_count": loss_count,
            "outcome": outcome.__dict__.copy(), "format": CHECKPOINT_FORMAT,
        }, path)

    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if bf16 else nullcontext
    bar = progress(total_steps, "training", "steps", initial=step, enabled=show_progress)
    started = time.perf_counter() - outcome.seconds
    last_save = time.perf_counter()
    with deferred_stop_signals() as stop:
        while step < total_steps:
            epoch, first_batch = divmod(step, steps_per_epoch)
            batches = epoch_batches(lengths, recipe.batch_size, seed, epoch, recipe.batching)
            model.train()
            for b in range(first_batch, steps_per_epoch):
                chosen = [windows[i] for i in batches[b]]
                batch = collate([w.input_ids for w in chosen], pad_id, [w.labels for w in chosen], device=device)
                tick = time.perf_counter()
                with autocast():
                    loss = model(**batch).loss
                loss.backward()
                optimizer.clip_and_step(recipe.max_grad_norm)
                scheduler.step()
                optimizer.zero_grad()
                step += 1
                loss_value = loss.item()
                loss_sum, loss_count = loss_sum + loss_value, loss_count + 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.3f}", sent_s=f"{len(chosen) / (time.perf_counter() - tick):.1f}",
                                epoch=epoch + 1)
                outcome.seconds = time.perf_counter() - started
                if time.perf_counter() - last_save >= checkpoint_every_s and b + 1 < steps_per_epoch:
                    save_checkpoint()
                    last_save = time.perf_counter()
                fault_point("train-step")
                # The step is complete, a consistent state to save; at an epoch's last step the
                # dev evaluation comes first, so that resuming never skips it.
                if stop.requested and b + 1 < steps_per_epoch:
                    bar.close()
                    save_checkpoint()
                    raise stop.stopped(kept=_kept(step, total_steps, checkpoint_dir))
            # End of an epoch: model selection on the source dev split, as XTREME keeps the best.
            bar.set_postfix_str(f"epoch {epoch + 1}: scoring the source dev split")
            bar.write(f"epoch {epoch + 1}/{recipe.epochs}: training steps done, scoring the source dev split")
            f1 = dev_f1(model)
            outcome.dev_curve.append({"epoch": epoch + 1, "step": step, "dev_f1": f1,
                                      "train_loss": loss_sum / max(1, loss_count)})
            loss_sum, loss_count = 0.0, 0
            if f1 > outcome.best_dev_f1:
                outcome.best_dev_f1, outcome.best_epoch = f1, epoch + 1
                _save_best(model, checkpoint_dir / BEST_FILE)
            outcome.seconds = time.perf_counter() - started
            save_checkpoint()
            last_save = time.perf_counter()
            bar.write(f"epoch {epoch + 1}/{recipe.epochs}: dev F1 {100 * f1:.2f} "
                      f"(best {100 * outcome.best_dev_f1:.2f} at epoch {outcome.best_epoch})")
            if stop.requested:
                bar.close()
                raise stop.stopped(kept=_kept(step, total_steps, checkpoint_dir))
    bar.close()
    outcome.steps = step
    load_best(model, checkpoint_dir)
    return outcome
