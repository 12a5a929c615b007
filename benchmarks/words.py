"""Words section of the benchmark: are our Word segments usable by others?

    python -m benchmarks.words [--data ../shared/data] [--results results]

- Word boxes against ground truth: kant_aufklaerung_1784 (tuning set) has
  GT Words; ocrd-ppocr-recognize reads its GT lines (Fraktur model) and
  writes Words; for each GT Word the best IoU of an output Word on its
  line, median over all GT Words and over those with a letter or digit.
  The GT makes punctuation a Word of its own; ours stays attached to its
  word (the Words' texts joined by spaces are the line's text, as
  Tesseract's Words and ALTO Strings have it), so a GT punctuation Word
  meets a larger Word of ours and scores a low IoU: the third row says
  whether our Words enclose it instead (median share of its area inside
  an output Word on its line).
- Tesseract reading our Words: bebel_frau_1879 (tuning set), our default
  chain, then ocrd-tesserocr-recognize (`deu`) on its output at
  textequiv_level line and word (segmentation_level none), with padding 0
  (its default) and 10; the same on kant's GT Words (`frk`) for
  comparison. Line CER by ../shared/eval/evaluate.py.
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from .datasets import DATA
from .machine import provenance, provenance_markdown
from .fraktur import page_files, run, scratch_copy
from .peers import TESSDATA, ensure_peers
from .scores import _evaluate
from .sets import require

FRAKTUR_MODEL = 'PP-OCRv6_rec_small_fraktur'


def _polygon(element, ns):
    from shapely.geometry import Polygon
    points = [tuple(map(float, p.split(','))) for p in element.find('pc:Coords', ns).get('points').split()]
    shape = Polygon(points)
    return shape if shape.is_valid else shape.buffer(0)


def _words_by_line(path):
    """{line id: [(polygon, text)]} of a PAGE file's Words."""
    from lxml import etree
    tree = etree.parse(str(path))
    ns = {'pc': tree.getroot().nsmap.get('pc') or tree.getroot().nsmap.get(None)}
    lines = {}
    for line in tree.iterfind('.//pc:TextLine', ns):
        words = []
        for word in line.iterfind('pc:Word', ns):
            unicode = word.find('pc:TextEquiv/pc:Unicode', ns)
            words.append((_polygon(word, ns), unicode.text if unicode is not None and unicode.text else ''))
        lines[line.get('id')] = words
    return lines


def punctuation_enclosed(gt_path, out_path):
    """For each GT Word without a letter or digit: the largest share of its
    area inside one output Word on the same line."""
    gt, out = _words_by_line(gt_path), _words_by_line(out_path)
    return [max([shape.intersection(other).area / shape.area for other, _ in out.get(line_id, [])
                 if shape.area > 0] or [0.0])
            for line_id, gt_words in gt.items() for shape, text in gt_words
            if not any(c.isalnum() for c in text)]


def word_ious(gt_path, out_path):
    """Best IoU of an output Word on the same line, for each GT Word: [(iou, text)]."""
    gt, out = _words_by_line(gt_path), _words_by_line(out_path)
    result = []
    for line_id, gt_words in gt.items():
        candidates = out.get(line_id, [])
        for shape, text in gt_words:
            best = 0.0
            for other, _ in candidates:
                if shape.intersects(other):
                    inter = shape.intersection(other).area
                    best = max(best, inter / (shape.area + other.area - inter))
            result.append((best, text))
    return result


def _ocrd_env(peers):
    return dict(os.environ, TESSDATA_PREFIX=TESSDATA,
                PATH=f'{peers.ocrd_bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}')


def _line_cer(gt, outputs):
    evaluate = _evaluate()
    errors = chars = 0
    for page, path in outputs.items():
        score = evaluate.score(evaluate.load(str(gt[page])), evaluate.load(str(path)))
        errors, chars = errors + score['errors'], chars + score['chars']
    return 100 * errors / max(chars, 1)


def tesseract_rows(workspace, gt, input_grp, model, env, set_name, log):
    rows = []
    for level, padding in (('line', 0), ('word', 0), ('word', 10)):
        grp = f'BENCH-TESS-{level}-{padding}'
        started = time.time()
        run(['ocrd-tesserocr-recognize', '-I', input_grp, '-O', grp, '-P', 'segmentation_level', 'none',
             '-P', 'textequiv_level', level, '-P', 'model', model, '-P', 'padding', str(padding)], workspace, env)
        cer = _line_cer(gt, page_files(workspace, grp))
        rows.append({'set': set_name, 'what': f'ocrd-tesserocr {model} reads the {level}s of {input_grp}, '
                     f'padding {padding}', 'line_CER': cer, 'seconds': round(time.time() - started, 1)})
        log(f"  {rows[-1]['what']}: line CER {cer:.2f} %")
    return rows


def words_section(data, out, peers, log=print):
    data, out = Path(data), Path(out)
    env = _ocrd_env(peers)
    rows = []
    kant = scratch_copy(data / 'kant_aufklaerung_1784' / 'data', out / 'work' / 'kant')
    gt = page_files(kant, 'OCR-D-GT-PAGE')
    run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-PAGE', '-O', 'BENCH-WORDS', '-P', 'model', FRAKTUR_MODEL,
         '-P', 'overwrite_segments', 'true'], kant, env)
    ious = [pair for page, path in page_files(kant, 'BENCH-WORDS').items() for pair in word_ious(gt[page], path)]
    with_letters = [iou for iou, text in ious if any(c.isalnum() for c in text)]
    rows.append({'set': 'kant_aufklaerung_1784 (tuning set)',
                 'what': f'median IoU of GT Words with our Words ({len(ious)} GT Words)',
                 'value': statistics.median(iou for iou, _ in ious)})
    rows.append({'set': 'kant_aufklaerung_1784 (tuning set)',
                 'what': f'median IoU of GT Words with a letter or digit ({len(with_letters)})',
                 'value': statistics.median(with_letters)})
    enclosed = [share for page, path in page_files(kant, 'BENCH-WORDS').items()
                for share in punctuation_enclosed(gt[page], path)]
    rows.append({'set': 'kant_aufklaerung_1784 (tuning set)',
                 'what': f'GT punctuation Words ({len(enclosed)}): median share inside one of our Words '
                         f'(under 0.8: {sum(share < 0.8 for share in enclosed)})',
                 'value': statistics.median(enclosed)})
    for row in rows:
        log(f"  {row['what']}: {row['value']:.3f}")
    rows += tesseract_rows(kant, gt, 'OCR-D-GT-PAGE', 'frk', env, 'kant_aufklaerung_1784 GT Words (tuning set)', log)
    bebel = scratch_copy(data / 'bebel_frau_1879', out / 'work' / 'bebel')
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'BENCH-SEG'], bebel, env)
    run(['ocrd-ppocr-recognize', '-I', 'BENCH-SEG', '-O', 'BENCH-OCR'], bebel, env)
    gt = page_files(bebel, 'OCR-D-GT-SEG-LINE')
    rows += tesseract_rows(bebel, gt, 'BENCH-OCR', 'deu', env, 'bebel_frau_1879, our Words (tuning set)', log)
    return rows


COLUMNS = [('set', 'set', '{}'), ('what', 'measured', '{}'), ('value', 'IoU / share', '{:.3f}'),
           ('line_CER', 'line CER %', '{:.2f}'), ('seconds', 's', '{:.0f}')]


def markdown(rows):
    from .report import markdown_table
    return markdown_table(rows, COLUMNS)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.words', description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=os.environ.get('BENCH_DATA', str(DATA)))
    parser.add_argument('--results', default='results')
    args = parser.parse_args(argv)
    require(args.data, ['words'])
    report = provenance(' '.join(['python -m benchmarks.words', *(sys.argv[1:] if argv is None else argv)]))
    results = Path(args.results).resolve()
    out = results / (time.strftime('%Y%m%d-%H%M%S') + '-words')
    out.mkdir(parents=True)
    peers = ensure_peers(results / 'peers')
    rows = words_section(args.data, out, peers)
    (out / 'words.json').write_text(json.dumps({**report, 'rows': rows}, indent=1, ensure_ascii=False),
                                    encoding='utf-8')
    (out / 'words.md').write_text('\n'.join(provenance_markdown(report)) + markdown(rows) + '\n', encoding='utf-8')
    print('\n' + markdown(rows))
    print(f'\nReports: {out}/words.md, {out}/words.json')


if __name__ == '__main__':
    main()
