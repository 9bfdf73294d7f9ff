"""The training loop's pure parts, and the row-sparse AdamW against torch's AdamW."""

from __future__ import annotations

import copy

import pytest
import torch

from benchmark.train.loop import epoch_batches, lr_multiplier
from benchmark.train.optim import RowSparseAdamW


def test_linear_schedule_with_and_without_warmup():
    assert [lr_multiplier(s, 10, 0) for s in (0, 5, 10, 12)] == [1.0, 0.5, 0.0, 0.0]
    assert [lr_multiplier(s, 10, 2) for s in (0, 1, 2, 6)] == [0.0, 0.5, 1.0, 0.5]


@pytest.mark.parametrize("batching", ["random", "length-grouped"])
def test_epoch_batches_cover_every_window_once_and_repeat_per_seed(batching):
    lengths = [(i * 37) % 101 + 1 for i in range(1000)]
    batches = epoch_batches(lengths, 32, seed=3, epoch=1, batching=batching)
    assert len(batches) == 32  # ceil(1000 / 32), as for random batches
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert batches == epoch_batches(lengths, 32, seed=3, epoch=1, batching=batching)
    assert batches != epoch_batches(lengths, 32, seed=3, epoch=2, batching=batching)


def test_length_grouped_batches_waste_little_on_padding():
    lengths = [(i * 37) % 101 + 1 for i in range(3200)]

    def padded(batches):
        return sum(max(lengths[i] for i in b) * len(b) for b in batches) / sum(lengths)

    assert padded(epoch_batches(lengths, 32, 0, 0, "length-grouped")) < 1.1
    assert padded(epoch_batches(lengths, 32, 0, 0, "random")) > 1.8


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"))]


@pytest.mark.parametrize("device", DEVICES)
def test_row_sparse_adamw_equals_torch_adamw_with_clipping(device):
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=3000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=7, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    reference = BertForTokenClassification(config).to(device)
    ours = copy.deepcopy(reference)
    torch_adamw = torch.optim.AdamW(reference.parameters(), lr=1e-3, eps=1e-8, weight_decay=0.0)
    sparse = RowSparseAdamW(ours, lr=1e-3, eps=1e-8, weight_decay=0.0)
    generator = torch.Generator().manual_seed(1)
    for step in range(8):
        # Later batches use new rows, so rows used once keep moving on momentum alone.
        ids = torch.randint(0, 200 + 300 * step, (8, 12), generator=generator).to(device)
        labels = torch.randint(0, 7, (8, 12), generator=generator).to(device)
        reference(input_ids=ids, labels=labels).loss.backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), 0.5)
        torch_adamw.step()
        torch_adamw.zero_grad()
        ours(input_ids=ids, labels=labels).loss.backward()
        sparse.clip_and_step(0.5)
        sparse.zero_grad()
    for (name, expected), actual in zip(reference.named_parameters(), ours.parameters()):
        # On a GPU the two backward passes sum gradient rows in different orders: float noise.
        torch.testing.assert_close(actual, expected, rtol=0, atol=1e-6 if device == "cpu" else 1e-5, msg=name)
    word = ours.get_input_embeddings().weight
    untouched = ~sparse.used
    assert untouched.any()
    torch.testing.assert_close(word[untouched], reference.get_input_embeddings().weight[untouched], rtol=0, atol=0)


def test_row_sparse_adamw_refuses_weight_decay():
    from transformers import BertConfig, BertForTokenClassification

    model = BertForTokenClassification(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1,
                                                  num_attention_heads=1, intermediate_size=8))
    with pytest.raises(ValueError, match="exact only without weight decay"):
        RowSparseAdamW(model, lr=1e-3, eps=1e-8, weight_decay=0.01)
