"""The package's one CER of text pairs, as ../shared/eval/evaluate.py counts
it on matched lines: texts NFC with whitespace runs collapsed, edit distance
summed over the pairs, over the ground truth's characters. Used by training
(validation) and ocrd-ppocr-predict; the benchmarks call evaluate.py itself."""
import unicodedata


def normalise(text):
    """The text as the evaluation compares it: NFC, runs of whitespace as one space."""
    return unicodedata.normalize('NFC', ' '.join((text or '').split()))


def cer(pairs, normalise=normalise):
    """Character error rate of (ground truth, reading) pairs, both texts
    normalised by `normalise` (training's also writes line-end hyphens as -)."""
    pairs = [(normalise(gt), normalise(out)) for gt, out in pairs]
    return sum(_distance(gt, out) for gt, out in pairs) / max(1, sum(len(gt) for gt, _ in pairs))


def _distance(a, b):
    try:  # rapidfuzz (training and tests have it) is fast; the engine's table is the fallback
        from rapidfuzz.distance import Levenshtein
        return Levenshtein.distance(a, b)
    except ImportError:
        from .engine.voting import edit_distance
        return edit_distance(a, b)
