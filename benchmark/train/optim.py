"""AdamW that does not touch embedding rows no batch has used yet, with the same result.

A multilingual vocabulary is large (XLM-R's 250k rows are 96M of multilingual-e5-small's 118M
parameters) and a source-language fine-tune uses a few tens of thousands of those rows. Plain
AdamW reads and writes every row at every step. For a row that no batch has ever used, the
gradient and both moments are exactly zero, so AdamW (without weight decay) leaves it as it
is: skipping such rows changes nothing. This optimizer keeps a mask of the rows used so far,
takes the embedding's gradient as sparse rows (``nn.Embedding(sparse=True)``) and applies
torch's AdamW formula to the used rows only; every other parameter goes through
``torch.optim.AdamW`` unchanged. Gradient clipping counts the sparse rows as torch does.
"""

from __future__ import annotations

import torch


class RowSparseAdamW:
    """torch AdamW + gradient-norm clipping, exact, with the input embedding updated by rows.

    Use as: ``loss.backward(); opt.clip_and_step(max_norm); scheduler.step(); opt.zero_grad()``.
    ``self.dense`` is the torch optimizer that an LR scheduler drives; the embedding follows its lr.
    """

    def __init__(self, model, lr: float, eps: float, weight_decay: float, betas=(0.9, 0.999)):
        self.embedding = model.get_input_embeddings()
        if weight_decay != 0:
            raise ValueError("row-sparse AdamW is exact only without weight decay")
        self.embedding.sparse = True  # backward now yields only the rows a batch used
        self.table = self.embedding.weight
        others = [p for p in model.parameters() if p is not self.table and p.requires_grad]
        self.dense = torch.optim.AdamW(others, lr=lr, eps=eps, weight_decay=0.0, betas=betas)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.exp_avg = torch.zeros_like(self.table, memory_format=torch.preserve_format)
        self.exp_avg_sq = torch.zeros_like(self.table)
        self.used = torch.zeros(self.table.shape[0], dtype=torch.bool, device=self.table.device)
        self.steps = 0

    @property
    def param_groups(self):
        return self.dense.param_groups

    def _embedding_rows(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(row indices, summed gradient rows) of the embedding's sparse gradient."""
        grad = self.table.grad
        if grad is None:
            return None
        grad = grad.coalesce()
        return grad.indices()[0], grad.values()

    @torch.no_grad()
    def clip_and_step(self, max_norm: float) -> float:
        """Clip the global gradient norm to ``max_norm`` (as clip_grad_norm_) and take one step."""
        rows = self._embedding_rows()
        dense_grads = [p.grad for group in self.dense.param_groups for p in group["params"] if p.grad is not None]
        norms = torch._foreach_norm(dense_grads) if dense_grads else []
        if rows is not None:
            norms = list(norms) + [torch.linalg.vector_norm(rows[1])]
        total = (torch.linalg.vector_norm(torch.stack(list(norms))) if norms
                 else torch.tensor(0.0, device=self.table.device))
        coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
        if dense_grads:
            torch._foreach_mul_(dense_grads, coef)
        self.dense.step()
        if rows is not None:
            self._step_rows(rows[0], rows[1] * coef)
        return float(total)

    def _step_rows(self, index: torch.Tensor, grad_rows: torch.Tensor) -> None:
        """torch's single-tensor AdamW arithmetic, on the rows used so far."""
        self.steps += 1
        self.used[index] = True
        used = self.used.nonzero().squeeze(1)
        grad = torch.zeros((used.numel(), self.table.shape[1]), dtype=self.table.dtype, device=self.table.device)
        position = torch.searchsorted(used, index)  # where each gradient row sits among the used rows
        grad[position] = grad_rows.to(self.table.dtype)
        lr = self.dense.param_groups[0]["lr"]
        exp_avg = self.exp_avg[used].lerp_(grad, 1 - self.beta1)
        exp_avg_sq = self.exp_avg_sq[used].mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        bias_correction1 = 1 - self.beta1**self.steps
        bias_correction2 = 1 - self.beta2**self.steps
        step_size = lr / bias_correction1
        denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(self.eps)
        self.table.data[used] = self.table.data[used].addcdiv_(exp_avg, denom, value=-step_size)
        self.exp_avg[used] = exp_avg
        self.exp_avg_sq[used] = exp_avg_sq

    def zero_grad(self) -> None:
        self.dense.zero_grad(set_to_none=True)
        self.table.grad = None

    def state_dict(self) -> dict:
        return {"dense": self.dense.state_dict(), "exp_avg": self.exp_avg, "exp_avg_sq": self.exp_avg_sq,
                "used": self.used, "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.dense.load_state_dict(state["dense"])
        self.exp_avg.copy_(state["exp_avg"])
        self.exp_avg_sq.copy_(state["exp_avg_sq"])
        self.used.copy_(state["used"])
        self.steps = int(state["steps"])
