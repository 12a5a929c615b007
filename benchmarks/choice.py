"""The recogniser's automatic model choice (model=auto, the default) against
each fixed model, side by side in one run, and what it costs.

    python -m benchmarks.choice [--data ../shared/data] [--results results] [--sets bebel,kant]
                                [--timing-repeats 2]

Page sets, each detected once by ocrd-ppocr-detect (defaults), then read by
ocrd-ppocr-recognize with each system's parameters:
- bebel_frau_1879 (Antiqua, 4 pages), kant_aufklaerung_1784 (Fraktur, 2),
  fraktur_pages clauren and laube (Fraktur, 9 + 3): PAGE GT with lines;
  evaluate.py's page CER and line CER (matched lines);
- oldbooks_en (English Antiqua, 10 pages, page-level text GT): page CER as
  benchmarks/unseen.py scores it (GT = the .txt's non-empty lines).
All of them are sets the choice rule was tuned on (engine/model_choice.py);
fraktur_lines/val is not used.

CPU time (user + system of the processes, from getrusage) per page on
bebel: the default chain (detect, then recognize with no -P) against
today's fixed-model chain before model=auto (model PP-OCRv6_rec_small,
hyphen as-read), alternately, the least of `--timing-repeats` runs each.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from .datasets import DATA
from .fraktur import page_files, scratch_copy
from .grid import text_grid
from .scores import _evaluate
from .unseen import build_workspace, evaluate_page, oldbooks_en, text_lines

GENERAL, FRAKTUR = 'PP-OCRv6_rec_small', 'PP-OCRv6_rec_small_fraktur'
OLD_DEFAULT = ['-P', 'model', GENERAL, '-P', 'hyphen', 'as-read']  # the defaults before model=auto
SYSTEMS = [  # (name, -P parameters of ocrd-ppocr-recognize)
    ('default (model=auto)', []),
    (f'{GENERAL} script=latin', ['-P', 'model', GENERAL, '-P', 'script', 'latin']),
    (f'{GENERAL} (script any)', ['-P', 'model', GENERAL]),
    (FRAKTUR, ['-P', 'model', FRAKTUR]),
    (f'{GENERAL}, hyphen as-read (old default)', OLD_DEFAULT),
]
PAGE_SETS = {  # name: (folder below the data folder, GT fileGrp); oldbooks_en is built from its images
    'bebel': ('bebel_frau_1879', 'OCR-D-GT-SEG-LINE'),
    'kant': ('kant_aufklaerung_1784/data', 'OCR-D-GT-PAGE'),
    'clauren': ('fraktur_pages/clauren_mimil_1815', 'OCR-D-GT-SEG-LINE'),
    'laube': ('fraktur_pages/laube_europa0202_1837', 'OCR-D-GT-SEG-LINE'),
    'oldbooks_en': (None, None),
}


def run_timed(cmd, cwd, env):
    """Run a console script; returns the CPU seconds (user + system) it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f'{" ".join(map(str, cmd))} failed: {result.stderr[-2000:]}')
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def workspace_of(name, data, out):
    folder, _ = PAGE_SETS[name]
    directory = Path(out) / 'work' / name
    if folder is None:
        build_workspace(oldbooks_en(data), directory)
    else:
        scratch_copy(Path(data) / folder, directory)
    return directory


def scores(name, directory, grp, data):
    """[(page, page CER, line CER or None, GT characters)] of one output fileGrp."""
    evaluate = _evaluate()
    outputs = page_files(directory, grp)
    rows = []
    if PAGE_SETS[name][0] is None:
        gts = {f'PHYS_{p.page_id}': text_lines(p.gt.read_text(encoding='utf-8').splitlines())
               for p in oldbooks_en(data).pages}
        for page, gt in sorted(gts.items()):
            out = text_lines([text for _, text in evaluate.load(str(outputs[page]))])
            result = evaluate_page(gt, out)
            rows.append((page, result['page_CER'], None, result['gt_chars']))
        return rows
    gt_files = page_files(directory, PAGE_SETS[name][1])
    for page, gt_path in sorted(gt_files.items()):
        gt = evaluate.load(str(gt_path))
        score = evaluate.score(gt, evaluate.load(str(outputs[page])))
        rows.append((page, score['page_CER'], (score['errors'], score['chars']), len('\n'.join(t for _, t in gt))))
    return rows


def pooled(rows):
    chars = sum(n for *_, n in rows)
    page_cer = sum(cer * n for _, cer, _, n in rows) / max(1, chars)
    lines = [line for _, _, line, _ in rows if line]
    line_cer = sum(e for e, _ in lines) / max(1, sum(c for _, c in lines)) if lines else None
    return page_cer, line_cer


def cer_section(sets, data, out, env, log):
    table = []
    for name in sets:
        directory = workspace_of(name, data, out)
        run_timed(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'BENCH-SEG'], directory, env)
        for index, (system, params) in enumerate(SYSTEMS):
            grp = f'BENCH-OCR-{index}'
            seconds = run_timed(['ocrd-ppocr-recognize', '-I', 'BENCH-SEG', '-O', grp] + params, directory, env)
            rows = scores(name, directory, grp, data)
            page_cer, line_cer = pooled(rows)
            table.append({'set': name, 'system': system, 'pages': len(rows), 'page_CER': page_cer,
                          'line_CER': line_cer, 'recognize_cpu_s_per_page': seconds / len(rows)})
            log(f'{name:12s} {system:45s} page CER {100 * page_cer:6.2f} %' +
                (f', line CER {100 * line_cer:5.2f} %' if line_cer is not None else ''))
    return table


def timing_section(data, out, env, repeats, log):
    """CPU seconds per page of the whole chain on bebel, old default vs new."""
    directory = workspace_of('bebel', data, out)
    best = {}
    for repeat in range(repeats):
        for label, params in (('old default chain (model PP-OCRv6_rec_small, hyphen as-read)', OLD_DEFAULT),
                              ('default chain (model=auto)', [])):
            tag = 'OLD' if params else 'NEW'
            detect = run_timed(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', f'T{repeat}-{tag}-SEG'], directory, env)
            recognize = run_timed(['ocrd-ppocr-recognize', '-I', f'T{repeat}-{tag}-SEG', '-O', f'T{repeat}-{tag}-OCR']
                                  + params, directory, env)
            pages = len(page_files(directory, f'T{repeat}-{tag}-OCR'))
            total = (detect + recognize) / pages
            if label not in best or total < best[label]['chain_cpu_s_per_page']:
                best[label] = {'chain_cpu_s_per_page': total, 'detect_cpu_s_per_page': detect / pages,
                               'recognize_cpu_s_per_page': recognize / pages}
            log(f'bebel timing {repeat + 1}: {label}: {total:.2f} CPU s per page '
                f'(detect {detect / pages:.2f}, recognize {recognize / pages:.2f})')
    old, new = best.values()
    ratio = new['chain_cpu_s_per_page'] / old['chain_cpu_s_per_page']
    log(f'bebel: default chain {new["chain_cpu_s_per_page"]:.2f} vs old {old["chain_cpu_s_per_page"]:.2f} '
        f'CPU s per page: {100 * (ratio - 1):+.1f} %')
    return {'chains': best, 'ratio': ratio}


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.choice', description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=os.environ.get('BENCH_DATA', str(DATA)))
    parser.add_argument('--results', default='results')
    parser.add_argument('--sets', default=','.join(PAGE_SETS), help='comma-separated, of: ' + ', '.join(PAGE_SETS))
    parser.add_argument('--timing-repeats', type=int, default=2, help='0: no timing')
    args = parser.parse_args(argv)
    out = Path(args.results).resolve() / (time.strftime('%Y%m%d-%H%M%S') + '-choice')
    out.mkdir(parents=True)
    env = dict(os.environ, PATH=f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}')
    log = lambda line: print(line, flush=True)  # noqa: E731
    report = {'cer': cer_section([s for s in args.sets.split(',') if s], args.data, out, env, log)}
    if args.timing_repeats:
        report['timing'] = timing_section(args.data, out, env, args.timing_repeats, log)
    (out / 'choice.json').write_text(json.dumps(report, indent=1), encoding='utf-8')
    rows = [[r['set'], r['system'], str(r['pages']), f"{100 * r['page_CER']:.2f}",
             '' if r['line_CER'] is None else f"{100 * r['line_CER']:.2f}", f"{r['recognize_cpu_s_per_page']:.2f}"]
            for r in report['cer']]
    print(text_grid(['set', 'system', 'pages', 'page CER %', 'line CER %', 'recognize CPU s/page'], rows))
    print(f'report: {out / "choice.json"}')


if __name__ == '__main__':
    main()
