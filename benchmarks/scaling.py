"""Full mode only: throughput of the default chain with 1, 2, 4 pages in
parallel (OCRD_MAX_PARALLEL_PAGES through a METS server) and 1 or 2 ONNX
Runtime threads, and a long run (>= 200 pages) with its memory sampled over
time, which must stay flat."""
import subprocess
import time
from pathlib import Path

from .measure import measure
from .systems import BIN


def repeat_pages(scratch, page_ids, copies):
    """Add `copies` more physical pages per page in `page_ids` to the scratch
    workspace (new mets:file entries pointing at the same image); returns all
    page IDs that the image fileGrp now has for them."""
    workspace = scratch.workspace()
    grp = scratch.dataset.img_grp
    added = []
    for copy in range(copies):
        for page in scratch.pages:
            if page.page_id not in page_ids:
                continue
            page_id = f'{page.page_id}_copy{copy:03d}'
            workspace.add_file(grp, file_id=f'{grp}_{page_id}', page_id=page_id, mimetype='image/tiff',
                               local_filename=str(page.image.relative_to(scratch.directory)))
            added.append(page_id)
    workspace.save_mets()
    return list(page_ids) + added


class MetsServer:
    """`ocrd workspace -U SOCKET server start` in the background, for page-parallel runs."""

    def __init__(self, directory, log):
        self.directory, self.log = Path(directory), log
        self.socket = self.directory / 'bench-mets.sock'

    def __enter__(self):
        self.process = subprocess.Popen([str(BIN / 'ocrd'), 'workspace', '-d', str(self.directory), '-U',
                                         str(self.socket), 'server', 'start'],
                                        stdout=open(self.log, 'ab'), stderr=subprocess.STDOUT)
        for _ in range(150):
            if self.socket.exists():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.process.kill()
        raise RuntimeError(f'METS server did not start in {self.directory} (see {self.log})')

    def __exit__(self, *exc):
        subprocess.run([str(BIN / 'ocrd'), 'workspace', '-d', str(self.directory), '-U', str(self.socket),
                        'server', 'stop'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def chain(scratch, page_ids, tag, logs, threads=0, parallel=1, socket=None, interval=0.5):
    """Measurements of detect then recognise (default models) on `page_ids`."""
    env = {'OCRD_MAX_PARALLEL_PAGES': str(parallel)}
    where = ['-U', str(socket)] if socket else ['-m', str(scratch.mets)]
    common = [*where, '-g', ','.join(page_ids), '--overwrite', '-P', 'num_threads', str(threads)]
    seg, ocr = f'BENCH-{tag}-SEG', f'BENCH-{tag}-OCR'
    steps = [('ocrd-ppocr-detect', scratch.dataset.img_grp, seg), ('ocrd-ppocr-recognize', seg, ocr)]
    return [measure([str(BIN / exe), *common, '-I', src, '-O', dst], cwd=scratch.directory, env=env,
                    log=Path(logs) / f'{tag}.log', interval=interval) for exe, src, dst in steps]


def parallel_scaling(scratch, page_ids, logs, parallels=(1, 2, 4), threads=(1, 2)):
    Path(logs).mkdir(parents=True, exist_ok=True)
    rows = []
    for thread_count in threads:
        for parallel in parallels:
            tag = f'P{parallel}-T{thread_count}'
            with MetsServer(scratch.directory, Path(logs) / f'{tag}.server.log') as server:
                det, rec = chain(scratch, page_ids, tag, logs, thread_count, parallel, server.socket)
            seconds = det.wall_s + rec.wall_s
            rows.append({'parallel_pages': parallel, 'num_threads': thread_count, 'pages': len(page_ids),
                         'seconds': seconds, 'pages_per_minute': 60 * len(page_ids) / seconds,
                         'det_s': det.wall_s, 'rec_s': rec.wall_s,
                         'tree_rss_mb': max(det.tree_rss_mb, rec.tree_rss_mb)})
    return rows


def long_run(scratch, page_ids, logs):
    """Detect + recognise on many pages in one process each, RSS sampled every 2 s."""
    Path(logs).mkdir(parents=True, exist_ok=True)
    result = {'pages': len(page_ids)}
    for step, measurement in zip(('detect', 'recognize'), chain(scratch, page_ids, 'LONG', logs, interval=2)):
        samples, end = measurement.samples, measurement.wall_s
        first = [mb for t, mb in samples if t <= 0.25 * end] or [samples[0][1]]
        last = [mb for t, mb in samples if t >= 0.75 * end] or [samples[-1][1]]
        # first/last: the peak of the first and of the last quarter of the run
        result[step] = {'seconds': end, 'first_mb': max(first), 'last_mb': max(last),
                        'max_mb': max(mb for _, mb in samples), 'samples': samples}
    return result
