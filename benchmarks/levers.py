"""Inference levers side by side, in one process: each lever is a set of
processor parameters (`-P`), run against the defaults on the same pages,
interleaved round by round, so that the other load on a shared machine
falls on all of them alike (only ratios within one run count).

    python -m benchmarks.levers speed --out DIR [--levers default,int8] [--rounds 2]
    python -m benchmarks.levers accuracy --out DIR [--levers default,int8] [--val-every 3]
    python -m benchmarks.levers report --speed S.json --accuracy A.json [A2.json...] --out docs/results/levers-DATE

speed: CPU seconds per page (this process's user + system time, ONNX
Runtime's threads included) of our one pass (ocrd-ppocr-recognize -P
segmentation true) and of detect + recognize on bebel (4 pages) and kant
(2 pages), and each model's share: the CPU time spent inside its
session.run calls (ONNX Runtime's pools do not spin, so no other work runs
meanwhile). The first round warms the sessions and is not counted.

accuracy: the guards a lever that changes output must pass (issue 31: line
CER within 0.05 points of the defaults):
- bebel GT lines: ocrd-ppocr-recognize on OCR-D-GT-SEG-LINE, line CER (evaluate.py);
- fraktur_lines/val: every `--val-every`-th line (sorted as lines.tsv lists
  them), read as ocrd-ppocr-predict reads them (model auto, hyphen -), line CER;
- oldbooks_en: the default chain (detect, then recognize), page CER (benchmarks.unseen).
None of these sets was used to choose a lever's settings."""
import argparse
import csv
import json
import os
import resource
import shutil
import sys
import time
from collections import defaultdict
from importlib.metadata import entry_points
from pathlib import Path

import onnxruntime

from .datasets import DATA, ScratchWorkspace, shared_datasets

# name -> -P parameters of ocrd-ppocr-detect and of ocrd-ppocr-recognize. One
# pass (recognize -P segmentation true) gets recognize's; a lever with
# detector parameters that recognize lacks has no one-pass row.
LEVERS = {
    'default': {'detect': {}, 'recognize': {}},
    'int8': {'detect': {}, 'recognize': {'precision': 'int8'}},
    'batch-4': {'detect': {}, 'recognize': {'batch_size': 4}},
    'batch-8': {'detect': {}, 'recognize': {'batch_size': 8}},
    'int8-batch-4': {'detect': {}, 'recognize': {'precision': 'int8', 'batch_size': 4}},
    'threads-1': {'detect': {'num_threads': 1}, 'recognize': {'num_threads': 1}},
    'int8-threads-1': {'detect': {'num_threads': 1}, 'recognize': {'precision': 'int8', 'num_threads': 1}},
    'no-orientation': {'detect': {}, 'recognize': {'textline_orientation': ''}},
    'det-1536': {'detect': {'limit_side_len': 1536}, 'recognize': {}, 'one_pass': False},
    'det-1024': {'detect': {'limit_side_len': 1024}, 'recognize': {}, 'one_pass': False},
}


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ModelClock:
    """CPU seconds inside each model's InferenceSession.run (by file name)."""

    def __init__(self):
        self.seconds = defaultdict(float)
        run = onnxruntime.InferenceSession.run
        clock = self

        def timed(session, *args, **kwargs):
            start = cpu_seconds()
            try:
                return run(session, *args, **kwargs)
            finally:
                name = os.path.basename(getattr(session, '_model_path', None) or 'model')
                clock.seconds[name] += cpu_seconds() - start
        onnxruntime.InferenceSession.run = timed


def processor(executable, workspace, in_grp, out_grp, params):
    """Run an OCR-D processor of ours in this process."""
    (entry,) = entry_points(group='console_scripts', name=executable)
    args = ['-m', str(workspace.mets), '-I', in_grp, '-O', out_grp, *workspace.page_args, '--overwrite']
    for key, value in params.items():
        args += ['-P', key, str(value)]
    cwd = os.getcwd()
    os.chdir(workspace.directory)
    try:
        entry.load().main(args=args, prog_name=executable, standalone_mode=False)
    except SystemExit as exit:
        if exit.code:
            raise
    finally:
        os.chdir(cwd)


def chains(workspace, name, params):
    """{chain: function running it} for one lever on one workspace."""
    img = workspace.dataset.img_grp

    def one_pass():
        processor('ocrd-ppocr-recognize', workspace, img, f'LEVER-1P-{name}',
                  {'segmentation': 'true', **params['recognize']})

    def detect_recognize():
        processor('ocrd-ppocr-detect', workspace, img, f'LEVER-SEG-{name}', params['detect'])
        processor('ocrd-ppocr-recognize', workspace, f'LEVER-SEG-{name}', f'LEVER-OCR-{name}', params['recognize'])
    runs = {'detect+recognize': detect_recognize}
    if params.get('one_pass', True):
        runs['one pass'] = one_pass
    return runs


def speed(args, levers):
    clock = ModelClock()
    workspaces = [ScratchWorkspace(dataset, Path(args.out) / 'speed' / dataset.name)
                  for dataset in shared_datasets(args.data)]
    # {(dataset, chain, lever): {'cpu': [per round], 'models': {model: [per round]}}}
    figures = defaultdict(lambda: {'cpu': [], 'models': defaultdict(list)})
    for round_ in range(args.rounds + 1):
        for workspace in workspaces:
            for name in levers:
                for chain, function in chains(workspace, name, LEVERS[name]).items():
                    before, models = cpu_seconds(), dict(clock.seconds)
                    function()
                    if round_ == 0:
                        continue  # warm-up: sessions built, INT8 graphs derived
                    pages = len(workspace.page_ids)
                    entry = figures[(workspace.dataset.name, chain, name)]
                    entry['cpu'].append((cpu_seconds() - before) / pages)
                    for model, seconds in clock.seconds.items():
                        entry['models'][model].append((seconds - models.get(model, 0.0)) / pages)
        print(f'round {round_} done', file=sys.stderr)
    rows = []
    for (dataset, chain, name), entry in figures.items():
        base = figures.get((dataset, chain, levers[0]))
        cpu = min(entry['cpu'])
        rows.append({'dataset': dataset, 'chain': chain, 'lever': name, 'cpu_s_per_page': cpu,
                     'ratio': cpu / min(base['cpu']) if base else None,
                     'models_cpu_s_per_page': {m: min(v) for m, v in sorted(entry['models'].items()) if min(v) > 0}})
    return rows


def val_subset(data, every):
    """Every `every`-th line of fraktur_lines/val, as lines.tsv lists them."""
    with open(Path(data) / 'fraktur_lines' / 'lines.tsv', encoding='utf-8') as file:
        rows = [r for r in csv.DictReader(file, delimiter='\t') if r['split'] == 'val']
    return rows[::every]


def predict_folder(data, rows, folder):
    """The subset as ocrd-ppocr-predict's input: a copy of each image and
    its .gt.txt, in one folder per work (predict's unit for model auto)."""
    if folder.exists():
        shutil.rmtree(folder)
    for row in rows:
        source = Path(data) / 'fraktur_lines' / row['file']
        target = folder / row['work'] / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        target.with_suffix('').with_suffix('.gt.txt').write_text(row['text'] + '\n', encoding='utf-8')
    return folder


def fraktur_val_cer(folder, params):
    """Line CER of ocrd-ppocr-predict (model auto, hyphen -) on `folder`."""
    from ocrd_ppocr.cer import cer
    from ocrd_ppocr.predict import main
    params = params['recognize']
    flags = {'precision': '--precision', 'batch_size': '--batch-size'}  # predict's names of recognize's parameters
    if set(params) - set(flags):
        return None  # predict reads line images: no classifier, no detector
    options = [item for key, value in params.items() for item in (flags[key], str(value))]
    main(args=[str(folder), *options], prog_name='ocrd-ppocr-predict', standalone_mode=False)
    pairs = [(gt.read_text(encoding='utf-8'), Path(str(gt)[:-len('.gt.txt')] + '.pred.txt').read_text(encoding='utf-8'))
             for gt in sorted(folder.rglob('*.gt.txt'))]
    return cer([(truth.strip(), reading.strip()) for truth, reading in pairs])  # predict's own CER


def bebel_gt_lines_cer(workspace, name, params):
    from .scores import evaluate_pages
    grp = f'LEVER-GTREC-{name}'
    processor('ocrd-ppocr-recognize', workspace, workspace.dataset.gt_grp, grp,
              {'overwrite_segments': 'true', **params['recognize']})
    scores = evaluate_pages({p.page_id: p.gt for p in workspace.pages}, workspace.outputs(grp))
    return sum(s['errors'] for s in scores.values()) / sum(s['chars'] for s in scores.values())


def oldbooks_page_cer(data, out, name, params):
    from ocrd import Resolver
    from . import unseen
    from .scores import _evaluate
    page_set = unseen.oldbooks_en(data)
    directory = Path(out) / 'oldbooks_en'
    if not (directory / 'mets.xml').exists():
        unseen.build_workspace(page_set, directory)
    workspace = type('W', (), {'mets': directory / 'mets.xml', 'directory': directory, 'page_args': []})
    processor('ocrd-ppocr-detect', workspace, 'OCR-D-IMG', f'LEVER-SEG-{name}', params['detect'])
    processor('ocrd-ppocr-recognize', workspace, f'LEVER-SEG-{name}', f'LEVER-OCR-{name}', params['recognize'])
    evaluate = _evaluate()
    resolved = Resolver().workspace_from_url(str(directory / 'mets.xml'), download=False)
    outputs = {f.pageId: [text for _, text in evaluate.load(str(directory / f.local_filename))]
               for f in resolved.find_files(file_grp=f'LEVER-OCR-{name}')}
    gt = {f'PHYS_{p.page_id}': unseen.text_lines(p.gt.read_text(encoding='utf-8').splitlines())
          for p in page_set.pages}
    scores = [unseen.evaluate_page(gt[page], unseen.text_lines(outputs[page])) for page in sorted(gt)]
    return sum(s['page_CER'] * s['gt_chars'] for s in scores) / sum(s['gt_chars'] for s in scores)


def accuracy(args, levers):
    bebel = ScratchWorkspace(shared_datasets(args.data)[0], Path(args.out) / 'accuracy' / 'bebel')
    rows_val = val_subset(args.data, args.val_every)
    folder = predict_folder(args.data, rows_val, Path(args.out) / 'accuracy' / 'fraktur_val')
    rows = []
    for name in levers:
        params = LEVERS[name]
        row = {'lever': name, 'bebel_gt_lines_line_CER': bebel_gt_lines_cer(bebel, name, params),
               'fraktur_val_line_CER': fraktur_val_cer(folder, params),
               'oldbooks_en_page_CER': oldbooks_page_cer(args.data, Path(args.out) / 'accuracy', name, params),
               'fraktur_val_lines': len(rows_val)}
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    return rows


def markdown(speed_rows, accuracy_rows, notes):
    """The report's tables: CPU per page and its ratio to the baseline, the
    models' shares; each lever's CER on the guards and its change."""
    lines = ['# Inference levers (benchmarks/levers.py)', '', notes, '',
             '| run | set | chain | lever | CPU s/page | ratio | detector | recognisers | line classifier | '
             'outside the models |', '|---|---|---|---|---|---|---|---|---|---|']
    for row in sorted(speed_rows, key=lambda r: (r['run'], r['dataset'], r['chain'])):
        models = row['models_cpu_s_per_page']
        shares = [sum(v for k, v in models.items() if key in k) for key in ('_det', '_rec', '_cls')]
        lines.append(f"| {row['run']} | {row['dataset']} | {row['chain']} | {row['lever']} | {row['cpu_s_per_page']:.2f} | "
                     f"{row['ratio']:.2f} | {shares[0]:.2f} | {shares[1]:.2f} | {shares[2]:.3f} | "
                     f"{row['cpu_s_per_page'] - sum(shares):.2f} |")
    base = accuracy_rows[0]
    keys = [('bebel_gt_lines_line_CER', 'bebel GT lines, line CER %'),
            ('fraktur_val_line_CER', f"fraktur_lines/val (every 3rd: {base['fraktur_val_lines']} lines), line CER %"),
            ('oldbooks_en_page_CER', 'oldbooks_en, page CER %')]
    lines += ['', '| lever | ' + ' | '.join(label for _, label in keys) + ' |', '|---|' + '---|' * len(keys)]
    for row in accuracy_rows:
        cells = []
        for key, _ in keys:
            if row.get(key) is None:
                cells.append('n/a')
            else:
                delta = 100 * (row[key] - base[key])
                cells.append(f'{100 * row[key]:.3f}' + ('' if row is base else f' ({delta:+.3f})'))
        lines.append(f"| {row['lever']} | " + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def report(args):
    speed_reports = [json.loads(Path(path).read_text()) for path in args.speed]
    for number, speed_report in enumerate(speed_reports, 1):
        for row in speed_report['rows']:
            row['run'] = number
    accuracy_rows = [row for path in args.accuracy for row in json.loads(Path(path).read_text())['rows']]
    accuracy_rows = list({row['lever']: row for row in accuracy_rows}.values())  # first the baseline
    runs = '; '.join(f"run {number}: best of {r.get('rounds', 1)} timed round(s) after a warm-up, load average "
                     + ', '.join(f"{key.replace('load_', '').replace('_', ' ')} {r[key][0]:.1f}"
                                 for key in ('load_at_start', 'load_at_end') if key in r)
                     + (f" ({r['note']})" if r.get('note') else '') for number, r in enumerate(speed_reports, 1))
    notes = ("CPU seconds per page (process user + system time; levers interleaved in one process, each run "
             f"against its own defaults; {runs}; 2 cores shared with other work: only the ratios within a run "
             "count), and the guards: "
             "evaluate.py's line CER on bebel's GT lines and on fraktur_lines/val (read as ocrd-ppocr-predict "
             "reads them), page CER on oldbooks_en; in brackets the change against the defaults, in points. "
             "A lever becomes a default only within 0.05 points on all three (issue 31). None of these sets "
             "chose a lever's settings.")
    out = Path(args.out)
    out.with_suffix('.json').write_text(json.dumps({'speed': speed_reports, 'accuracy': accuracy_rows}, indent=1))
    out.with_suffix('.md').write_text(markdown([row for r in speed_reports for row in r['rows']], accuracy_rows, notes),
                                      encoding='utf-8')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('what', choices=['speed', 'accuracy', 'report'])
    parser.add_argument('--speed', nargs='+', help='report: speed JSONs (each its own run: ratios within a run)')
    parser.add_argument('--accuracy', nargs='+', help='report: accuracy JSONs, the first holds the baseline')
    parser.add_argument('--out', required=True, help='scratch workspaces and the JSON report go here')
    parser.add_argument('--data', default=os.environ.get('BENCH_DATA', str(DATA)))
    parser.add_argument('--levers', default='default,int8', help=f'comma-separated, the first is the baseline: '
                        f'{",".join(LEVERS)}')
    parser.add_argument('--rounds', type=int, default=2, help='timed rounds (speed; the best counts)')
    parser.add_argument('--val-every', type=int, default=3, help='fraktur_lines/val: every n-th line')
    args = parser.parse_args(argv)
    if args.what == 'report':
        return report(args)
    levers = args.levers.split(',')
    unknown = set(levers) - set(LEVERS)
    if unknown:
        parser.error(f'unknown levers {sorted(unknown)}')
    Path(args.out).mkdir(parents=True, exist_ok=True)
    started, load = time.time(), os.getloadavg()
    rows = speed(args, levers) if args.what == 'speed' else accuracy(args, levers)
    result = {'what': args.what, 'levers': {name: LEVERS[name] for name in levers}, 'rows': rows,
              'rounds': args.rounds, 'load_at_start': load, 'seconds': time.time() - started}
    (Path(args.out) / f'levers-{args.what}.json').write_text(json.dumps(result, indent=1))
    print(json.dumps(rows, indent=1))


if __name__ == '__main__':
    main()
