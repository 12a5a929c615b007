"""Speed work must not change output: the default chain (ocrd-ppocr-detect,
then ocrd-ppocr-recognize with default parameters, and once more with
textequiv_level glyph) on kant 0017 and bebel 0186 from tests/data gives
the same ids, polygons and text as recorded in tests/data/golden/chain.json
(confidences to 1e-6).

Regenerate the golden file only after a deliberate change of output (not
for speed work): `python tests/test_same_output.py` (see tests/data/README.md)."""
import json
import sys
from pathlib import Path

import pytest
from ocrd_models.ocrd_page import parse

from conftest import BEBEL, KANT, make_workspace, output_pages, run

PAGES = [KANT[0], BEBEL[3]]  # kant 0017 (colour), bebel 0186 (1-bit)
GOLDEN = Path(__file__).parent / 'data' / 'golden' / 'chain.json'
RUNS = {'default': [], 'glyph': ['-P', 'textequiv_level', 'glyph']}


def segments(path):
    """[(kind, id, points, [(text, conf)])] of every TextLine, Word and Glyph, in document order."""
    pcgts = parse(str(path), silence=True)
    found = []

    def record(kind, segment):
        equivs = [(e.get_Unicode(), e.get_conf()) for e in segment.get_TextEquiv()]
        found.append([kind, segment.id, segment.get_Coords().points, equivs])

    for region in pcgts.get_Page().get_AllRegions(classes=['Text'], order='reading-order'):
        for line in region.get_TextLine():
            record('TextLine', line)
            for word in line.get_Word():
                record('Word', word)
                for glyph in word.get_Glyph():
                    record('Glyph', glyph)
    return found


def chain(directory):
    """{run: {page_id: segments}} of the chain on PAGES in a new workspace in `directory`."""
    make_workspace(directory, [(page, image, None) for page, image, _ in PAGES])
    run(['ocrd-ppocr-detect', '-I', 'OCR-D-IMG', '-O', 'OCR-D-SEG'], cwd=directory)
    results = {}
    for name, params in RUNS.items():
        grp = f'OCR-D-OCR-{name.upper()}'
        run(['ocrd-ppocr-recognize', '-I', 'OCR-D-SEG', '-O', grp, *params], cwd=directory)
        results[name] = {page: segments(path) for page, path in sorted(output_pages(directory, grp).items())}
    return results


@pytest.fixture(scope='module')
def produced(tmp_path_factory):
    return chain(tmp_path_factory.mktemp('same_output'))


@pytest.mark.parametrize('name', sorted(RUNS))
def test_same_output_as_golden(produced, name):
    golden = json.loads(GOLDEN.read_text(encoding='utf-8'))[name]
    assert sorted(produced[name]) == sorted(golden)
    for page, expected in golden.items():
        got = produced[name][page]
        assert len(got) == len(expected), page
        for (kind, id_, points, equivs), (g_kind, g_id, g_points, g_equivs) in zip(got, expected):
            assert (kind, id_, points) == (g_kind, g_id, g_points), (page, id_)
            assert [t for t, _ in equivs] == [t for t, _ in g_equivs], (page, id_)
            for (_, conf), (_, g_conf) in zip(equivs, g_equivs):
                assert conf == pytest.approx(g_conf, abs=1e-6), (page, id_)


if __name__ == '__main__':
    import tempfile
    with tempfile.TemporaryDirectory() as scratch:
        results = chain(Path(scratch))
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(results, ensure_ascii=False, separators=(',', ':')) + '\n', encoding='utf-8')
    print(f'wrote {GOLDEN}', file=sys.stderr)
