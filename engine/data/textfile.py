"""The user's own plain-text file for a character language model, read only from the data
folder or the uploads folder (engine.data.folder.resolve refuses any other path before it is
opened). Every refusal is one sentence that names the file and never quotes what is in it.

The size cap, 2 MB: tiny Shakespeare (1.1 MB) fits; one cached copy as int64 inputs and
targets is then at most 32 MB (load_dataset keeps eight), and an epoch of a small
char-model on a CPU stays within minutes."""
from __future__ import annotations

import numpy as np

from ..schema import clip
from . import PAD, DataError
from .folder import resolve

MAX_TEXT_BYTES = 2 * 1024 * 1024
MAX_VOCAB = 256                 # distinct ids, PAD and UNK included; rarer characters become UNK
UNK = "<unk>"


def read_text(path: str, min_chars: int) -> str:
    """The file's text (UTF-8, a BOM dropped, line ends as \\n) with at least `min_chars`
    characters; DataError with one sentence otherwise."""
    if not path:
        raise DataError("no text file given: upload a .txt file or set data.path to one in the data folder")
    p = resolve(path)
    name = clip(p.name)
    if not p.is_file():
        raise DataError(f"text file {name} does not exist in the data folder: check data.path")
    size = p.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise DataError(f"{name} is {size / 2**20:.1f} MB; the limit for a text file is "
                        f"{MAX_TEXT_BYTES // 2**20} MB: use an excerpt")
    if size == 0:
        raise DataError(f"{name} is empty: choose a text file with some writing in it")
    with p.open("rb") as f:
        raw = f.read(MAX_TEXT_BYTES + 1)                 # a file that grew since stat() is still capped
    if len(raw) > MAX_TEXT_BYTES:
        raise DataError(f"{name} is over the limit of {MAX_TEXT_BYTES // 2**20} MB for a text file: use an excerpt")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{name} is not UTF-8 text (byte {e.start:,} cannot be decoded): "
                        "save it as plain UTF-8 text") from None
    if "\x00" in text:
        raise DataError(f"{name} holds NUL bytes, so it is not plain text: choose a .txt file")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DataError(f"{name} holds only blank space: choose a text file with some writing in it")
    if len(text) < min_chars:
        raise DataError(f"{name} has {len(text):,} characters; at least {min_chars:,} are needed for a "
                        "training and a test window: use a longer text or a shorter window")
    return text


def text_ids(text: str) -> tuple[np.ndarray, list[str]]:
    """The text as (len,) int64 ids and their vocab: [PAD, every character in sorted order], or,
    for a text with more than MAX_VOCAB - 1 distinct characters, [PAD, UNK, the MAX_VOCAB - 2
    most frequent in sorted order] with every rarer character read as UNK."""
    points = np.frombuffer(text.encode("utf-32-le"), np.uint32)          # one code point per character
    uniq, inverse, counts = np.unique(points, return_inverse=True, return_counts=True)
    reserved = [PAD]
    if len(uniq) >= MAX_VOCAB:
        reserved.append(UNK)
        keep = np.sort(np.argsort(-counts, kind="stable")[:MAX_VOCAB - 2])
    else:
        keep = np.arange(len(uniq))
    table = np.full(len(uniq), len(reserved) - 1, np.int64)              # UNK (only used when kept < all)
    table[keep] = np.arange(len(reserved), len(reserved) + len(keep))
    vocab = reserved + [chr(c) for c in uniq[keep]]
    return table[inverse], vocab
