"""A tiny BERT built on the fly: a WordPiece tokenizer trained in-process and 2 random layers.

The fixture of every test that needs a model, and a way to try xbench end to end in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def build_tiny_model(dest: Path, sentences: Iterable[list[str]], vocab_size: int = 400,
                     hidden_size: int = 32, layers: int = 2, max_positions: int = 64, seed: int = 0) -> Path:
    """Write a Hugging Face folder (safetensors weights, fast tokenizer) to ``dest``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=False)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials)
    backend.train_from_iterator((" ".join(words) for words in sentences), trainer=trainer)
    tokenizer = BertTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", sep_token="[SEP]",
                                  pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
                                  model_max_length=max_positions)
    tokenizer.save_pretrained(dest)
    config = BertConfig(vocab_size=backend.get_vocab_size(), hidden_size=hidden_size,
                        num_hidden_layers=layers, num_attention_heads=2, intermediate_size=2 * hidden_size,
                        max_position_embeddings=max_positions, pad_token_id=0)
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(dest, safe_serialization=True)
    return dest
