"""Growing a CTC head by the characters the ground truth has and the
dictionary lacks.

The classes are blank, the dictionary, then space (PaddleOCR's order). New
characters are appended to the dictionary, so their classes go just before
the space class; every old class keeps its weights, so the model still reads
what it read before. A new class starts as a copy of a similar character's
class (r rotunda from r, the combining small e from e...), its bias a little
lower so the old reading wins until training says otherwise; with no similar
character, from the mean class with the lowest bias.
"""
import unicodedata

import numpy as np

# characters of historic print and what they look most like
SIMILAR = {
    'ꝛ': 'r', '⸗': '=', '\u0364': 'e', 'ſ': 'f', 'ꝰ': '9', 'ꝓ': 'p', 'ꝑ': 'p', 'ꝗ': 'q', 'ꝙ': 'q',
    '⁊': '7', 'ꝫ': '3', 'ē': 'e', 'ā': 'a', 'ō': 'o', 'ū': 'u', 'ñ': 'n', '—': '-', '–': '-',
    '„': '"', '“': '"', '”': '"', '‚': ',', '‘': "'", '’': "'", '»': '"', '«': '"', '›': "'", '‹': "'",
}
BIAS_OFFSET = 1.0  # how much less likely a new class starts than the class it copies


def missing_characters(dictionary, texts):
    """Characters of `texts` the dictionary lacks, in order of first use."""
    known = set(dictionary) | {' '}
    missing = {}
    for text in texts:
        for char in text:
            if char not in known:
                missing.setdefault(char, None)
    return list(missing)


def similar_to(char, dictionary):
    """The dictionary character a new one is initialised from, or None."""
    candidates = [SIMILAR.get(char)]
    base = unicodedata.normalize('NFKD', char)[:1]
    if base and base != char:
        candidates.append(base)
    for candidate in candidates:
        if candidate and candidate in dictionary:
            return candidate
    return None


def grow(weight, bias, dictionary, new_chars):
    """(weight (D, C + k), bias (C + k,)) with columns for `new_chars`
    inserted before the space class (the last one)."""
    columns, biases = [], []
    for char in new_chars:
        like = similar_to(char, dictionary)
        if like is not None:
            index = 1 + dictionary.index(like)
            columns.append(weight[:, index])
            biases.append(bias[index] - BIAS_OFFSET)
        else:
            columns.append(weight[:, 1:-1].mean(axis=1))
            biases.append(bias[1:-1].min())
    if not new_chars:
        return weight, bias
    weight = np.concatenate([weight[:, :-1], np.stack(columns, axis=1), weight[:, -1:]], axis=1)
    bias = np.concatenate([bias[:-1], np.array(biases, dtype=bias.dtype), bias[-1:]])
    return weight.astype(np.float32), bias.astype(np.float32)
