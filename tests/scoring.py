"""Scoring as the project is judged: tests/data/eval/evaluate.py, a verbatim
copy of ../shared/eval/evaluate.py (tests/test_budget.py checks they are
equal where ../shared exists), so the tests run without ../shared and use
the one definition of line matching and CER. `cer` is evaluate.py's edit
distance over a list of (GT, output) text pairs already matched, for tests
that match lines by id."""
import importlib.util
from pathlib import Path

from rapidfuzz.distance import Levenshtein

_spec = importlib.util.spec_from_file_location('evaluate', Path(__file__).parent / 'data' / 'eval' / 'evaluate.py')
evaluate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(evaluate)


def page_polygons(path, tag='TextLine'):
    return [polygon for polygon, _ in page_lines(path, tag)]


def page_lines(path, tag='TextLine'):
    """(polygon, text) of every `tag` element, text normalised as evaluate.py does
    (NFC, whitespace runs collapsed)."""
    return evaluate.page_lines(str(path), tag)


def line_cer(gt_lines, out_lines):
    """evaluate.py's line CER: (polygon, text) lines matched by IoU, edit
    distance over the pairs, unmatched GT lines as deletions, unmatched
    output as insertions, over the GT's characters."""
    return evaluate.score(gt_lines, out_lines)['line_CER']


def cer(pairs):
    """Edit distance over (GT text, output text) pairs, texts normalised as
    evaluate.py does, over the GT's characters."""
    pairs = [(evaluate.norm(gt), evaluate.norm(out)) for gt, out in pairs]
    return sum(Levenshtein.distance(gt, out) for gt, out in pairs) / max(1, sum(len(gt) for gt, _ in pairs))


def match(gt, out, threshold=0.5):
    """Number of one-to-one matches at IoU >= threshold."""
    return len(matched_pairs(gt, out, threshold))


def matched_pairs(gt, out, threshold=0.5):
    """[(gt index, out index)] matched one-to-one, greedily by IoU >= threshold
    (evaluate.py's rule; its score() gives only their number)."""
    gs, os_ = [evaluate.shape(p) for p in gt], [evaluate.shape(p) for p in out]
    pairs = []
    for i, g in enumerate(gs):
        for j, o in enumerate(os_):
            if g.area > 0 and o.area > 0 and g.intersects(o):
                inter = g.intersection(o).area
                iou = inter / (g.area + o.area - inter)
                if iou >= threshold:
                    pairs.append((iou, i, j))
    used_g, used_o, matched = set(), set(), []
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_g and j not in used_o:
            used_g.add(i)
            used_o.add(j)
            matched.append((i, j))
    return matched


def hmean(matched, n_gt, n_out):
    precision = matched / n_out if n_out else 0.0
    recall = matched / n_gt if n_gt else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
