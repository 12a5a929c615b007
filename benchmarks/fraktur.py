"""Fraktur section of the benchmark: the shipped Fraktur recogniser against
our default recogniser and Tesseract's Fraktur models, on material that no
model of ours was trained on (what else each set was used for, e.g. laube
for detect's min_contrast, fraktur_lines/val for choosing the shipped
stage: benchmarks/sets.json).

    python -m benchmarks.fraktur [--data ../shared/data] [--results results]

Sets (what each is used for is stated in the report):
- fraktur_lines/val: 741 line images of 19 works never trained on (the
  Fraktur model's training used fraktur_lines/train only, validated on a
  split of it by work), recognition only;
- fraktur_pages: two works not trained on (1815, 1837), each system with its own
  detection/segmentation, per work;
- kant_aufklaerung_1784 (1784) with our detection, per page;
- bebel_frau_1879's GT lines (Antiqua, 1879): is Antiqua kept?

Line CER and detection figures are ../shared/eval/evaluate.py's (imported).
Tesseract runs as its command line (Debian tesseract-ocr-frk and
tesseract-ocr-script-frak): --psm 7 on line images, its own page
segmentation with TSV output (line boxes and words) on pages.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2

from .budget import LEGEND as BUDGET_LEGEND
from .budget import budget_of_files
from .budget import markdown as budget_markdown
from .budget import table as budget_table
from .datasets import DATA
from .grid import markdown_grid, text_grid
from .machine import provenance, provenance_markdown
from .scores import _evaluate
from .sets import require

FRAKTUR_MODEL = 'PP-OCRv6_rec_small_fraktur'
DEFAULT_MODEL = 'PP-OCRv6_rec_small'
DETECTOR = 'PP-OCRv6_det_tiny'
TESSERACT_MODELS = ('frk', 'Fraktur')
# (system name, -P parameters of ocrd-ppocr-recognize / the engine)
OURS = [
    (f'ocrd_ppocr {FRAKTUR_MODEL}', {'model': FRAKTUR_MODEL}),
    (f'ocrd_ppocr {DEFAULT_MODEL} script=latin orthography=fraktur',
     {'model': DEFAULT_MODEL, 'script': 'latin', 'orthography': 'fraktur'}),
]
# All three page sets' GT ends a split word with - (clauren 34 times, laube 1,
# kant 15), where the Fraktur model reads ⸗ or — as its training lines write
# it: their rows with the recogniser's hyphen parameter set to the GT's mark.
# (fraktur_lines/val mixes ⸗ and — by source: read as-read only.)
# The README's chain with no -P (model auto, hyphen -) comes first; the fixed
# models keep the model's own line-end mark (hyphen as-read) but for the
# "hyphen=-" row, and Tesseract gets the same normalisation in a row of its own.
DEFAULTS = 'ocrd_ppocr defaults (model auto, hyphen -)'
OURS_PAGES = [(DEFAULTS, {})] + [(name, {**params, 'hyphen': 'as-read'}) for name, params in OURS] + [
    (f'ocrd_ppocr {FRAKTUR_MODEL} hyphen=- (as the GT writes)', {'model': FRAKTUR_MODEL, 'hyphen': '-'})]
PAGE_SETS = [  # name, workspace folder below the data folder, GT fileGrp, unit of the figures
    ('clauren_mimil_1815', 'fraktur_pages/clauren_mimil_1815', 'OCR-D-GT-SEG-LINE', 'work'),
    ('laube_europa0202_1837', 'fraktur_pages/laube_europa0202_1837', 'OCR-D-GT-SEG-LINE', 'work'),
    ('kant_aufklaerung_1784', 'kant_aufklaerung_1784/data', 'OCR-D-GT-PAGE', 'page'),
]


def run(cmd, cwd=None, env=None):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f'{" ".join(map(str, cmd))} failed: {result.stderr[-2000:]}')
    return result.stdout


def pooled(scores):
    errors, chars = sum(s['errors'] for s in scores), sum(s['chars'] for s in scores)
    return errors / max(chars, 1)


# -- line images ---------------------------------------------------------------

def val_lines(data):
    rows = csv.DictReader(open(Path(data) / 'fraktur_lines' / 'lines.tsv', encoding='utf-8'), delimiter='\t')
    return [(Path(data) / 'fraktur_lines' / r['file'], r['text']) for r in rows if r['split'] == 'val']


def line_scores(lines, readings):
    """evaluate.py's line CER over line images: each line its own box."""
    evaluate = _evaluate()
    gt = [([(0, 10 * i), (100, 10 * i), (100, 10 * i + 9), (0, 10 * i + 9)], evaluate.norm(text))
          for i, (_, text) in enumerate(lines)]
    out = [(points, evaluate.norm(text)) for (points, _), text in zip(gt, readings)]
    return evaluate.score(gt, out)


def ours_on_lines(lines, params):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ocrd_ppocr.engine.orthography import fraktur_spelling
    from ocrd_ppocr.engine.recognize import TextRecognizer
    from ocrd_ppocr.training.cli import dictionary_beside, find_model

    model = find_model(params['model'])
    recognizer = TextRecognizer(model, dictionary_beside(model), top_k=1, script=params.get('script', 'any'))
    images = [cv2.imread(str(path), cv2.IMREAD_COLOR) for path, _ in lines]
    started = time.time()
    results = recognizer.recognize(images)
    if params.get('orthography') == 'fraktur':
        results = [fraktur_spelling(r) for r in results]
    return [r.text for r in results], time.time() - started


def tesseract_on_lines(lines, model):
    def read(path):
        return ' '.join(run(['tesseract', str(path), 'stdout', '-l', model, '--psm', '7']).split())
    started = time.time()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        texts = list(pool.map(read, [path for path, _ in lines]))
    return texts, time.time() - started


# -- pages -----------------------------------------------------------------------

def scratch_copy(source, target):
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target


def page_files(workspace, grp):
    from ocrd import Resolver
    ws = Resolver().workspace_from_url(str(workspace / 'mets.xml'))
    return {f.pageId: workspace / f.local_filename for f in ws.find_files(file_grp=grp)}


def ours_on_pages(workspace, params, env):
    if not (workspace / 'BENCH-SEG').exists():
        run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'BENCH-SEG', '-P', 'model', DETECTOR], workspace, env)
    grp = 'BENCH-OCR-' + params.get('model', 'defaults') + ''.join(
        f'-{key}{ord(value[0]) if key == "hyphen" else value}' for key, value in params.items() if key != 'model')
    args = [x for key, value in params.items() for x in ('-P', key, value)]
    started = time.time()
    run(['ocrd-ppocr-recognize', '-I', 'BENCH-SEG', '-O', grp] + args, workspace, env)
    return {page: str(path) for page, path in page_files(workspace, grp).items()}, time.time() - started


def tesseract_on_pages(workspace, images, model, out_dir):
    """{page: JSON file of evaluate.py lines} from Tesseract's own segmentation (TSV)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs, started = {}, time.time()
    for page, image in images.items():
        tsv = run(['tesseract', str(image), 'stdout', '-l', model, 'tsv'])
        lines = {}
        for row in list(csv.DictReader(tsv.splitlines(), delimiter='\t', quoting=csv.QUOTE_NONE)):
            key = (row['block_num'], row['par_num'], row['line_num'])
            if row['level'] == '4':
                x, y, w, h = (int(row[k]) for k in ('left', 'top', 'width', 'height'))
                lines[key] = {'points': [[x, y], [x + w, y], [x + w, y + h], [x, y + h]], 'words': []}
            elif row['level'] == '5' and (row['text'] or '').strip() and key in lines:
                lines[key]['words'].append(row['text'].strip())
        result = [{'points': l['points'], 'text': ' '.join(l['words'])} for l in lines.values() if l['words']]
        path = out_dir / f'{page}.json'
        path.write_text(json.dumps(result, ensure_ascii=False), encoding='utf-8')
        outputs[page] = str(path)
    return outputs, time.time() - started


def hyphens_as_gt(outputs, out_dir):
    """Tesseract's page outputs (evaluate.py JSON) with each line-end
    hyphenation mark written as -, by the rule ocrd-ppocr-recognize's
    `hyphen -` applies to ours: the same normalisation for both."""
    from ocrd_ppocr.engine.orthography import line_end_hyphen_text
    out_dir.mkdir(parents=True, exist_ok=True)
    normalised = {}
    for page, path in outputs.items():
        lines = json.loads(Path(path).read_text(encoding='utf-8'))
        for line in lines:
            line['text'] = line_end_hyphen_text(line['text'], '-')
        target = out_dir / Path(path).name
        target.write_text(json.dumps(lines, ensure_ascii=False), encoding='utf-8')
        normalised[page] = str(target)
    return normalised


def page_scores(gt, outputs):
    evaluate = _evaluate()
    return {page: evaluate.score(evaluate.load(str(gt[page])), evaluate.load(path)) for page, path in outputs.items()}


# -- the section -------------------------------------------------------------------

def fraktur_section(data, out, log=print):
    data, out = Path(data), Path(out)
    env = dict(os.environ, PATH=f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}')
    rows = []
    lines = val_lines(data)
    log(f'fraktur_lines/val: {len(lines)} lines')
    systems = [(name, lambda p=params: ours_on_lines(lines, p)) for name, params in OURS]
    systems += [(f'tesseract {m} (--psm 7)', lambda m=m: tesseract_on_lines(lines, m)) for m in TESSERACT_MODELS]
    for name, read in systems:
        texts, seconds = read()
        score = line_scores(lines, texts)
        rows.append({'set': 'fraktur_lines/val (19 works, not trained on)', 'unit': 'all', 'system': name,
                     'line_CER': 100 * score['line_CER'], 'lines': len(lines), 'seconds': round(seconds, 1)})
        log(f"  {name}: line CER {100 * score['line_CER']:.2f} %")
    for set_name, folder, gt_grp, unit in PAGE_SETS:
        workspace = scratch_copy(data / folder, out / 'work' / set_name)
        gt = page_files(workspace, gt_grp)
        images = page_files(workspace, 'OCR-D-IMG')
        runs = [(name, *ours_on_pages(workspace, params, env)) for name, params in OURS_PAGES]
        for m in TESSERACT_MODELS:
            outputs, seconds = tesseract_on_pages(workspace, {p: images[p] for p in gt}, m,
                                                  out / 'tesseract' / set_name / m)
            runs += [(f'tesseract {m} (own segmentation)', outputs, seconds),
                     (f'tesseract {m} (own segmentation) hyphen=- (as the GT writes)',
                      hyphens_as_gt(outputs, out / 'tesseract' / set_name / f'{m}-hyphen'), seconds)]
        for name, outputs, seconds in runs:
            scores = page_scores(gt, outputs)
            groups = {'all': list(scores)} if unit == 'work' else {p: [p] for p in sorted(scores)}
            for group, pages in groups.items():
                chosen = [scores[p] for p in pages]
                rows.append({'set': set_name, 'unit': group, 'system': name, 'line_CER': 100 * pooled(chosen),
                             'page_CER': 100 * sum(s['page_CER'] * s['chars'] for s in chosen)
                             / max(1, sum(s['chars'] for s in chosen)),
                             'H': sum(s['H'] for s in chosen) / len(chosen), 'pages': len(chosen),
                             'seconds': round(seconds, 1),
                             'budget': budget_of_files(gt, {p: outputs[p] for p in pages})})
                log(f"  {set_name} {group} {name}: line CER {rows[-1]['line_CER']:.2f} %, H {rows[-1]['H']:.2f}")
    # Antiqua kept? bebel's GT lines read by each of our recognisers
    workspace = scratch_copy(data / 'bebel_frau_1879', out / 'work' / 'bebel_frau_1879')
    gt = page_files(workspace, 'OCR-D-GT-SEG-LINE')
    for name, params in [(DEFAULTS, {})] + OURS + [(f'ocrd_ppocr {DEFAULT_MODEL}', {'model': DEFAULT_MODEL})]:
        grp = 'BENCH-GTREC-' + params.get('model', 'defaults') + ('-' + params['orthography'] if 'orthography' in params else '')
        args = [x for key, value in params.items() for x in ('-P', key, value)]
        started = time.time()
        run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG-LINE', '-O', grp, '-P', 'overwrite_segments', 'true']
            + args, workspace, env)
        scores = page_scores(gt, {p: str(path) for p, path in page_files(workspace, grp).items()})
        rows.append({'set': 'bebel_frau_1879 GT lines (Antiqua)', 'unit': 'all', 'system': name,
                     'line_CER': 100 * pooled(list(scores.values())), 'pages': len(scores),
                     'seconds': round(time.time() - started, 1)})
        log(f"  bebel GT lines {name}: line CER {rows[-1]['line_CER']:.2f} %")
    return rows


COLUMNS = [('set', 'set', '{}'), ('unit', 'work/page', '{}'), ('system', 'system', '{}'),
           ('line_CER', 'line CER %', '{:.2f}'), ('page_CER', 'page CER %', '{:.2f}'), ('H', 'det H', '{:.2f}'),
           ('seconds', 's', '{:.0f}')]


def budget_rows(rows):
    """The budget table's rows (benchmarks.budget) of the page rows."""
    return [{'set': r['set'] + ('' if r['unit'] == 'all' else f" {r['unit']}"), 'system': r['system'],
             'budget': r['budget']} for r in rows if r.get('budget')]


def cells(row):
    return [fmt.format(row[key]) if row.get(key) is not None else '' for key, _, fmt in COLUMNS]


def table(rows):
    return text_grid([title for _, title, _ in COLUMNS], [cells(row) for row in rows])


def markdown(rows):
    return markdown_grid([title for _, title, _ in COLUMNS], [cells(row) for row in rows])


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.fraktur', description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=os.environ.get('BENCH_DATA', str(DATA)))
    parser.add_argument('--results', default='results')
    args = parser.parse_args(argv)
    require(args.data, ['fraktur'])
    report = provenance(' '.join(['python -m benchmarks.fraktur', *(sys.argv[1:] if argv is None else argv)]))
    out = Path(args.results).resolve() / (time.strftime('%Y%m%d-%H%M%S') + '-fraktur')
    out.mkdir(parents=True)
    rows = fraktur_section(args.data, out)
    (out / 'fraktur.json').write_text(json.dumps({**report, 'rows': rows}, indent=1, ensure_ascii=False),
                                      encoding='utf-8')
    (out / 'fraktur.md').write_text('\n'.join(provenance_markdown(report)) + markdown(rows) + '\n\n'
                                    + budget_markdown(budget_rows(rows)) + '\n\n' + BUDGET_LEGEND + '\n',
                                    encoding='utf-8')
    print('\n' + table(rows))
    print('\n' + budget_table(budget_rows(rows)) + '\n' + BUDGET_LEGEND)
    print(f'\nReports: {out}/fraktur.md, {out}/fraktur.json')


if __name__ == '__main__':
    main()
