"""Shared fixtures: real models (installed by `make models`), real pages
(tests/data, see its README for provenance and licences) and METS workspaces
built from them in temporary directories."""
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401  (CI: a skip is a failure)
from ocrd import Resolver
from ocrd_ppocr.resources import find_resource

DATA = Path(__file__).parent / 'data'
BEBEL = [('PHYS_%s' % n, DATA / 'bebel' / f'bebel_frau_1879_{n}.tif', DATA / 'bebel' / f'bebel_frau_1879_{n}.xml')
         for n in ('0146', '0168', '0176', '0186')]
KANT = [('PHYS_%s' % n, DATA / 'kant' / f'INPUT_{n}.tif', DATA / 'kant' / f'PAGE_{n}_PAGE.xml')
        for n in ('0017', '0020')]
BIN = Path(sys.executable).parent
MIMETYPES = {'.tif': 'image/tiff', '.jpg': 'image/jpeg', '.png': 'image/png'}


def model_path(name, executable='ocrd-ppocr-detect'):
    """Path of an installed model resource; fails (never skips) when missing."""
    found = find_resource(name, first=executable)  # as the processors look it up
    if found:
        return found
    pytest.fail(f'model {name} is not installed: run `make models`')


def make_workspace(directory, pages, gt_grp='OCR-D-GT-SEG'):
    """A METS workspace in `directory` with OCR-D-IMG (and the GT PAGE files,
    their imageFilename pointed at the copied image, in `gt_grp`)."""
    directory = Path(directory)
    workspace = Resolver().workspace_from_nothing(directory=str(directory),
                                                  mets_basename='mets.xml')
    workspace.mets.unique_identifier = 'urn:test:ocrd-ppocr'
    for page_id, image, gt in pages:
        number = page_id.split('_')[-1]
        image = Path(image)
        local = f'OCR-D-IMG/OCR-D-IMG_{number}{image.suffix}'
        (directory / 'OCR-D-IMG').mkdir(exist_ok=True)
        shutil.copy(image, directory / local)
        workspace.add_file('OCR-D-IMG', file_id=f'OCR-D-IMG_{number}', page_id=page_id,
                           mimetype=MIMETYPES[image.suffix], local_filename=local)
        if gt:
            text = Path(gt).read_text(encoding='utf-8')
            text = text.replace(_image_filename(text), local)
            gt_local = f'{gt_grp}/{gt_grp}_{number}.xml'
            (directory / gt_grp).mkdir(exist_ok=True)
            (directory / gt_local).write_text(text, encoding='utf-8')
            workspace.add_file(gt_grp, file_id=f'{gt_grp}_{number}', page_id=page_id,
                               mimetype='application/vnd.prima.page+xml', local_filename=gt_local)
    workspace.save_mets()
    return directory


def cut_gt_line(page, line_id, target):
    """Write the bounding box of GT line `line_id` of `page` (an entry of
    BEBEL or KANT) to the image file `target`; return its GT text."""
    import cv2
    import numpy as np
    from ocrd_models.ocrd_page import parse
    from PIL import Image
    _, image_path, gt_path = page
    lines = [line for region in parse(str(gt_path), silence=True).get_Page().get_AllRegions(classes=['Text'])
             for line in region.get_TextLine() if line.id == line_id]
    points = np.array([[int(v) for v in point.split(',')] for point in lines[0].get_Coords().points.split()])
    (x0, y0), (x1, y1) = points.min(0), points.max(0)
    cv2.imwrite(str(target), np.asarray(Image.open(image_path).convert('L'))[y0:y1 + 1, x0:x1 + 1])
    return lines[0].get_TextEquiv()[0].Unicode


def _image_filename(page_xml):
    start = page_xml.index('imageFilename="') + len('imageFilename="')
    return page_xml[start:page_xml.index('"', start)]


def run(args, cwd, env=None, check=True, text=True):
    """Run a console script of this package (from the test's environment)."""
    environment = dict(os.environ, PATH=f'{BIN}{os.pathsep}{os.environ.get("PATH", "")}')
    environment.update(env or {})
    result = subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=text)
    if check and result.returncode != 0:
        raise AssertionError(f'{" ".join(map(str, args))} failed ({result.returncode}):\n'
                             f'{result.stdout[-3000:]!s}\n{result.stderr[-3000:]!s}')
    return result


@contextmanager
def mets_server(directory, socket):
    """A METS server on `socket` for the workspace in `directory` (ocrd >= 3.13
    needs one for OCRD_MAX_PARALLEL_PAGES > 1), stopped (saving the METS) on exit."""
    server = subprocess.Popen([str(BIN / 'ocrd'), 'workspace', '-d', str(directory), '-U', str(socket),
                               'server', 'start'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if Path(socket).exists():
                break
            time.sleep(0.2)
        assert Path(socket).exists(), 'METS server did not start'
        yield
        run(['ocrd', 'workspace', '-d', str(directory), '-U', str(socket), 'server', 'stop'], cwd=directory)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()


def startup_error(args, cwd):
    """Run a processor that must refuse to start: asserts exit code 1 and no
    traceback, returns its one-line error (the last line on stderr)."""
    result = run(args, cwd=cwd, check=False)
    assert result.returncode == 1, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def output_pages(workspace_dir, file_grp):
    """{page_id: path} of the PAGE files in a fileGrp."""
    workspace = Resolver().workspace_from_url(str(Path(workspace_dir, 'mets.xml')))
    return {f.pageId: Path(workspace_dir, f.local_filename)
            for f in workspace.mets.find_files(fileGrp=file_grp, mimetype='application/vnd.prima.page+xml')}


@pytest.fixture(scope='session')
def bebel_kant_segmented(tmp_path_factory):
    """bebel (4 pages) and kant (2 pages) segmented by ocrd-ppocr-detect with defaults."""
    directory = make_workspace(tmp_path_factory.mktemp('bebel_kant'), BEBEL + KANT)
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], cwd=directory)
    return directory
