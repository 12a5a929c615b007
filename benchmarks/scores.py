"""Accuracy: ../shared/eval/evaluate.py (the project's definition, imported,
not copied) per page and pooled, and dinglehopper's page CER/WER beside it."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

EVAL = Path(__file__).resolve().parents[2] / 'shared' / 'eval'


def _evaluate():
    if str(EVAL) not in sys.path:
        sys.path.insert(0, str(EVAL))
    import evaluate
    return evaluate


def gt_lines(path):
    """[(polygon, text)] of a PAGE file's TextLines, as evaluate.py reads them."""
    return _evaluate().load(str(path))


def evaluate_pages(gt, outputs):
    """{page_id: evaluate.score(...)} for the pages in `outputs` (page_id -> file)."""
    evaluate = _evaluate()
    return {page_id: evaluate.score(evaluate.load(str(gt[page_id])), evaluate.load(str(path)))
            for page_id, path in outputs.items()}


def pooled(pages):
    """Totals over pages: line CER and P/R/H from summed counts, page CER
    weighted by GT characters."""
    total = lambda key: sum(s[key] for s in pages.values())  # noqa: E731
    chars, matched = total('chars'), total('matched')
    p = matched / total('out_lines') if total('out_lines') else 0.0
    r = matched / total('gt_lines') if total('gt_lines') else 0.0
    return {'line_CER': total('errors') / max(chars, 1), 'P': p, 'R': r,
            'H': 2 * p * r / (p + r) if p + r else 0.0,
            'page_CER': sum(s['page_CER'] * s['chars'] for s in pages.values()) / max(chars, 1),
            'gt_lines': total('gt_lines'), 'out_lines': total('out_lines'), 'matched': matched}


def dinglehopper_pages(peers, pairs):
    """dinglehopper CER/WER for [(gt, output)] pairs (PAGE-XML; evaluate.py JSON
    outputs are read from the plain-text file beside them), in one process."""
    pairs = [(str(gt), str(Path(out).with_suffix('.txt') if str(out).endswith('.json') else out))
             for gt, out in pairs]
    with tempfile.TemporaryDirectory() as tmp:
        pairs_path, out_path = Path(tmp) / 'pairs.json', Path(tmp) / 'out.json'
        pairs_path.write_text(json.dumps(pairs))
        cmd = peers.script(peers.ocrd_bin / 'python', 'dinglehopper_pairs', pairs_path, out_path)
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f'dinglehopper failed:\n{result.stderr[-3000:]}')
        return json.loads(out_path.read_text())


def pooled_dinglehopper(results):
    graphemes = sum(r['gt_graphemes'] for r in results) or 1
    words = sum(r['gt_words'] for r in results) or 1
    return {'cer': sum(r['cer'] * r['gt_graphemes'] for r in results) / graphemes,
            'wer': sum(r['wer'] * r['gt_words'] for r in results) / words}
