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
    """{page_id: evaluate.score(...)} for the pages in `outputs` (page_id -> file),
    plus two figures beside the project's definition: the page CER with the GT
    lines put in reading order (`page_CER_ordered`; some GT files store lines
    out of order, which the page CER charges to every system alike) and the
    region Hmean (`region_H`, evaluate.py --regions) of PAGE outputs."""
    evaluate = _evaluate()
    scores = {}
    for page_id, path in outputs.items():
        out = evaluate.load(str(path))
        score = evaluate.score(evaluate.load(str(gt[page_id])), out)
        score['page_CER_ordered'] = evaluate.score(gt_lines_in_order(gt[page_id]), out)['page_CER']
        if str(path).endswith('.xml'):
            score['region_H'] = evaluate.score(evaluate.load(str(gt[page_id]), 'TextRegion'),
                                               evaluate.load(str(path), 'TextRegion'))['H']
        scores[page_id] = score
    return scores


def gt_lines_in_order(path, evaluate=None):
    """[(polygon, text)] of the GT lines in reading order: regions as the
    PAGE ReadingOrder lists them (RegionRefIndexed by index, RegionRef as
    written; regions it leaves out after them in document order), the lines
    of a region top to bottom."""
    from lxml import etree
    evaluate = evaluate or _evaluate()
    tree = etree.parse(str(path))
    ns = {'pc': tree.getroot().nsmap.get('pc') or tree.getroot().nsmap.get(None)}
    regions = list(tree.iterfind('.//pc:TextRegion', ns))
    listed = []
    for group in tree.iterfind('.//pc:ReadingOrder//pc:OrderedGroup', ns):
        refs = group.findall('./pc:RegionRefIndexed', ns)
        listed += [ref.get('regionRef') for ref in sorted(refs, key=lambda ref: int(ref.get('index')))]
    listed += [ref.get('regionRef') for ref in tree.iterfind('.//pc:ReadingOrder//pc:RegionRef', ns)]
    rank = {region_id: n for n, region_id in reversed(list(enumerate(listed)))}
    regions.sort(key=lambda region: rank.get(region.get('id'), len(rank)))  # stable: the rest in document order
    lines = []
    for region in regions:
        own = []
        for line in region.iterfind('./pc:TextLine', ns):
            points = [tuple(map(float, p.split(','))) for p in line.find('./pc:Coords', ns).get('points').split()]
            unicode = line.find('./pc:TextEquiv/pc:Unicode', ns)
            own.append((points, evaluate.norm(unicode.text if unicode is not None else '')))
        lines += sorted(own, key=lambda item: sum(y for _, y in item[0]) / len(item[0]))
    return lines


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
            'page_CER_ordered': sum(s['page_CER_ordered'] * s['chars'] for s in pages.values()) / max(chars, 1),
            'region_H': (sum(s['region_H'] for s in pages.values()) / len(pages)
                         if pages and all('region_H' in s for s in pages.values()) else None),
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
