"""Page-parallel processing through a METS server (ocrd >= 3.13 needs one for
OCRD_MAX_PARALLEL_PAGES > 1): same result as a sequential run."""
from conftest import BEBEL, make_workspace, mets_server, output_pages, run
from scoring import page_polygons


def test_parallel_pages_with_mets_server(tmp_path):
    directory = make_workspace(tmp_path / 'ws', BEBEL)
    socket = tmp_path / 'mets.sock'
    with mets_server(directory, socket):
        run(['ocrd-ppocr-detect', '-U', str(socket), '-I', 'OCR-D-IMG', '-O', 'OCR-D-PAR'],
            cwd=directory, env={'OCRD_MAX_PARALLEL_PAGES': '2'})
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEQ'], cwd=directory)
    parallel, sequential = output_pages(directory, 'OCR-D-PAR'), output_pages(directory, 'OCR-D-SEQ')
    assert set(parallel) == {page_id for page_id, _, _ in BEBEL}
    for page_id in parallel:
        assert page_polygons(parallel[page_id]) == page_polygons(sequential[page_id])
    run(['ocrd', 'workspace', 'validate', '-q', 'OCR-D-PAR', '-s', 'pixel_density'], cwd=directory)
