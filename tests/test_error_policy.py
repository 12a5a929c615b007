"""A page that fails goes through core's error policy: OCRD_MISSING_OUTPUT
(SKIP, COPY, ABORT) decides what becomes of it and OCRD_MAX_MISSING_OUTPUTS
how many failed pages end the run; each failed page is one line naming the
page and the problem, never a traceback."""

from ocrd import Resolver
from ocrd.processor.helpers import run_processor
from ocrd_utils import config

from conftest import BEBEL, make_workspace, mets_server, output_pages, run
from scoring import page_polygons

from ocrd_ppocr.processors.detect import DetectProcessor

DETECT = ['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG']
VALIDATE = ['ocrd', 'workspace', 'validate', '-s', 'pixel_density', '-s', 'imagefilename', '-s', 'dimension', '-q']
# one failed page of two is within the limit; core's default (0.1) is not
HALF = '0.5'


def broken_workspace(directory, gt=False):
    """Two pages of bebel 0186 (with its GT PAGE if `gt`), the first one's image garbage."""
    page = BEBEL[3][2] if gt else None
    directory = make_workspace(directory, [('PHYS_0001', BEBEL[3][1], page), ('PHYS_0002', BEBEL[3][1], page)])
    (directory / 'OCR-D-IMG' / 'OCR-D-IMG_0001.tif').write_bytes(b'garbage')
    return directory


def errors(stderr):
    return [line for line in stderr.splitlines() if ' ERROR ' in line]


def test_skip(tmp_path):
    directory = broken_workspace(tmp_path)
    result = run(DETECT, cwd=directory, env={'OCRD_MISSING_OUTPUT': 'SKIP', 'OCRD_MAX_MISSING_OUTPUTS': HALF})
    assert 'Traceback' not in result.stderr
    [error] = errors(result.stderr)
    assert 'PHYS_0001' in error and 'cannot identify image file' in error and 'OCRD_MISSING_OUTPUT=SKIP' in error
    assert 'skipped 1 of 2 pages' in result.stderr  # core counted the failure
    assert set(output_pages(directory, 'OCR-D-SEG')) == {'PHYS_0002'}
    run(VALIDATE + ['OCR-D-SEG'], cwd=directory)


def test_copy(tmp_path):
    """COPY: the PAGE of a page whose image breaks while processing is copied
    unchanged, the other page is processed."""
    directory = broken_workspace(tmp_path, gt=True)
    result = run(['ocrd-ppocr-detect', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-SEG', '-P', 'overwrite_segments', 'true'],
                 cwd=directory, env={'OCRD_MISSING_OUTPUT': 'COPY', 'OCRD_MAX_MISSING_OUTPUTS': HALF})
    assert 'Traceback' not in result.stderr
    [error] = errors(result.stderr)
    assert 'PHYS_0001' in error and 'OCRD_MISSING_OUTPUT=COPY' in error
    assert 'fallback-copied 1 of 2 pages' in result.stderr
    pages = output_pages(directory, 'OCR-D-SEG')
    assert set(pages) == {'PHYS_0001', 'PHYS_0002'}
    assert page_polygons(pages['PHYS_0001']) == page_polygons(BEBEL[3][2])  # the input, as it was
    assert page_polygons(pages['PHYS_0002']) != page_polygons(BEBEL[3][2])  # new lines
    run(VALIDATE + ['OCR-D-SEG'], cwd=directory)


def test_copy_of_an_unreadable_image(tmp_path):
    """COPY with an image as input that cannot be read: nothing to copy, one
    more line, the run goes on."""
    directory = broken_workspace(tmp_path)
    result = run(DETECT, cwd=directory, env={'OCRD_MISSING_OUTPUT': 'COPY', 'OCRD_MAX_MISSING_OUTPUTS': HALF})
    assert 'Traceback' not in result.stderr
    assert 'PHYS_0001: its input cannot be copied either' in result.stderr
    assert set(output_pages(directory, 'OCR-D-SEG')) == {'PHYS_0002'}
    run(VALIDATE + ['OCR-D-SEG'], cwd=directory)


def test_abort(tmp_path):
    directory = broken_workspace(tmp_path)
    result = run(DETECT, cwd=directory, env={'OCRD_MISSING_OUTPUT': 'ABORT'}, check=False)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert not errors(result.stderr)  # the one line below, not logged before it as well
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('ocrd-ppocr-detect: error: cannot read the input of page PHYS_0001: '
                           'cannot identify image file'), last
    assert not output_pages(directory, 'OCR-D-SEG')  # stopped at the first page


def test_max_missing_outputs_ends_the_run(tmp_path):
    directory = broken_workspace(tmp_path)
    result = run(DETECT, cwd=directory, env={'OCRD_MISSING_OUTPUT': 'SKIP', 'OCRD_MAX_MISSING_OUTPUTS': '0.1'},
                 check=False)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    [error] = errors(result.stderr)
    assert 'PHYS_0001' in error
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('ocrd-ppocr-detect: error: too many failures with skipped output'), last
    assert 'OCRD_MAX_MISSING_OUTPUTS=0.1' in last


def test_parallel_pages_go_through_the_same_policy(tmp_path):
    """OCRD_MAX_PARALLEL_PAGES=2 (through a METS server): the failed page's
    error comes back from its worker as the same one line."""
    directory = broken_workspace(tmp_path / 'ws')
    socket = tmp_path / 'mets.sock'
    with mets_server(directory, socket):
        result = run(['ocrd-ppocr-detect', '-U', str(socket), '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], cwd=directory,
                     env={'OCRD_MAX_PARALLEL_PAGES': '2', 'OCRD_MAX_MISSING_OUTPUTS': HALF})
    assert 'Traceback' not in result.stderr
    [error] = errors(result.stderr)
    assert 'PHYS_0001' in error and 'cannot identify image file' in error
    assert set(output_pages(directory, 'OCR-D-SEG')) == {'PHYS_0002'}


def test_existing_output_is_not_a_page_error(tmp_path, monkeypatch):
    """OCRD_EXISTING_OUTPUT=SKIP: a page whose output exists is left alone,
    not reported as bad input (core's FileExistsError passes through)."""
    directory = make_workspace(tmp_path, [BEBEL[3]])
    run(DETECT, cwd=directory)
    before = output_pages(directory, 'OCR-D-SEG')['PHYS_0186'].read_text()
    monkeypatch.setenv('OCRD_EXISTING_OUTPUT', 'SKIP')
    monkeypatch.setenv('OCRD_MAX_MISSING_OUTPUTS', '0')  # any failed page would end the run
    assert config.OCRD_EXISTING_OUTPUT == 'SKIP'
    workspace = Resolver().workspace_from_url(str(directory / 'mets.xml'))
    run_processor(DetectProcessor, workspace=workspace, input_file_grp='OCR-D-IMG', output_file_grp='OCR-D-SEG')
    assert output_pages(directory, 'OCR-D-SEG')['PHYS_0186'].read_text() == before
