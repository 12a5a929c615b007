"""Ensembles that vote (engine/voting.py, engine/ensemble.py) on real Fraktur
lines (tests/data/fraktur_lines) with the real installed recognisers, in the
processor and in ocrd-ppocr-predict."""
import sys

import pytest
from ocrd_models.ocrd_page import parse

from conftest import DATA, KANT, make_workspace, model_path, output_pages, run
from test_fraktur_model import _cer, _lines

from ocrd_ppocr.engine.ensemble import EnsembleRecognizer, read_ensemble, write_ensemble
from ocrd_ppocr.engine.recognize import CharResult, LineResult, finish_line
from ocrd_ppocr.engine.voting import align, disagreement, vote
from ocrd_ppocr.predict import line_cer
from ocrd_ppocr.training.data import load_ground_truth

LINES = DATA / 'fraktur_lines' / 'val'
MEMBERS = ['PP-OCRv6_rec_small_fraktur', 'PP-OCRv6_rec_small', 'PP-OCRv5_rec_mobile']
PREDICT = [sys.executable, '-m', 'ocrd_ppocr.predict']


def recogniser(name):
    return model_path(f'{name}.onnx', 'ocrd-ppocr-recognize')


def copied_lines(tmp_path, count):
    """(folder, source images): the first `count` line images of LINES copied into a fresh folder."""
    folder = tmp_path / 'lines'
    folder.mkdir()
    images = sorted(LINES.rglob('*.jpg'))[:count]
    for image in images:
        (folder / image.name).write_bytes(image.read_bytes())
    return folder, images


def reading(text, conf=0.9):
    """A LineResult of `text`, one character per 10 pixels."""
    return finish_line(LineResult('', 0.0, [CharResult(c, conf, 10 * i, 10 * i + 10, [(c, conf)])
                                            for i, c in enumerate(text)]))


def test_vote_takes_the_majority_and_keeps_letters_with_their_marks():
    assert vote([reading('Haus'), reading('Hans'), reading('Haus')]).text == 'Haus'
    # o + combining small e against ö: one substitution, so the two readings that agree win whole
    voted = vote([reading('Go\u0364rlitz'), reading('Görlitz', 0.5), reading('Go\u0364rlitz')])
    assert voted.text == 'Go\u0364rlitz'
    # an insertion one member makes with little confidence is voted out
    assert vote([reading('Haus'), reading('Hauts', 0.3), reading('Haus')]).text == 'Haus'
    # a sure reading outweighs two unsure ones
    assert vote([reading('Kant', 0.99), reading('Kaut', 0.3), reading('Kaut', 0.3)]).text == 'Kant'
    assert [c.x0 for c in voted.chars][:2] == [0, 10]
    assert disagreement([reading('Haus'), reading('Haus')], reading('Haus')) == 0
    assert align('ab', 'b') == [(0, None), (1, 0)]


@pytest.fixture(scope='module')
def member_readings():
    lines, _ = load_ground_truth([LINES], log=lambda *a: None)
    ensemble = EnsembleRecognizer([(recogniser(name), None) for name in MEMBERS], threads=2)
    return lines, ensemble, ensemble.read_all([line.image for line in lines])


def test_ensemble_beats_its_worst_member_on_real_lines(member_readings):
    lines, ensemble, readings = member_readings
    member_cers = [line_cer([(line.text, r.text) for line, r in zip(lines, member)]) for member in readings]
    voted = ensemble.vote(readings)
    voted_cer = line_cer([(line.text, r.text) for line, r in zip(lines, voted)])
    # measured: members 1.3 / 14.5 / 32.5 %, voted 8.8 %
    assert voted_cer < max(member_cers) and voted_cer < sum(member_cers) / len(member_cers)
    assert all(0 <= c.conf <= 1 and c.x0 <= c.x1 and c.alternatives[0][0] == c.char
               for line in voted for c in line.chars)


def test_two_fraktur_votes_outweigh_one_general_model(member_readings):
    lines, ensemble, readings = member_readings
    fraktur, general = readings[0], readings[1]
    voted = ensemble.vote([fraktur, fraktur, general])
    assert [r.text for r in voted] == [r.text for r in fraktur]


def test_ensemble_file_and_predict_write_a_reading_per_image(tmp_path):
    folder, images = copied_lines(tmp_path, 4)
    (folder / images[0].name.replace('.jpg', '.gt.txt')).write_text(
        images[0].with_name(images[0].name.replace('.jpg', '.gt.txt')).read_text(encoding='utf-8'), encoding='utf-8')
    write_ensemble(tmp_path / 'frak.ensemble.json', [recogniser(MEMBERS[0]), recogniser(MEMBERS[1])])
    assert [m for m, _ in read_ensemble(tmp_path / 'frak.ensemble.json')] == [recogniser(n) for n in MEMBERS[:2]]
    result = run(PREDICT + ['-m', str(tmp_path / 'frak'), str(folder)], cwd=tmp_path)
    assert '4 lines read' in result.stdout and '(voting)' in result.stdout and 'on the 1 lines' in result.stdout
    assert 'CER of each model alone' in result.stdout
    for image in images:
        text = (folder / image.name.replace('.jpg', '.pred.txt')).read_text(encoding='utf-8')
        assert len(text.strip()) > 10
    run(PREDICT + ['-m', MEMBERS[0], '-o', str(tmp_path / 'out'), '--orthography', 'fraktur', str(folder)],
        cwd=tmp_path)
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == sorted(
        i.name.replace('.jpg', '.pred.txt') for i in images)
    bad = run(PREDICT + ['-m', 'PP-OCRv9_rec', str(folder)], cwd=tmp_path, check=False)
    assert bad.returncode != 0 and 'Traceback' not in bad.stderr and 'not found' in bad.stderr


def test_processor_votes_with_a_list_of_models(tmp_path):
    directory = make_workspace(tmp_path, KANT[1:])
    models = ','.join(MEMBERS[:2])
    result = run(['ocrd-ppocr-recognize', '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-VOTE', '-P', 'model', models,
                  '-P', 'textequiv_level', 'glyph', '-P', 'overwrite_segments', 'true'], cwd=directory)
    assert 'ensemble of 2 models' in result.stderr
    path = output_pages(directory, 'OCR-D-VOTE')['PHYS_0020']
    gt, out = _lines(KANT[1][2]), _lines(path)
    assert _cer(gt, out) < 0.1
    glyphs = [g for line in parse(str(path), silence=True).get_Page().get_AllTextLines()
              for word in line.get_Word() for g in word.get_Glyph()]
    assert glyphs and all(0 <= float(g.get_TextEquiv()[0].conf) <= 1 for g in glyphs)
    assert any(len(g.get_TextEquiv()) > 1 for g in glyphs)  # alternatives of the vote


SUGGEST = [sys.executable, '-m', 'ocrd_ppocr.suggest']


def test_suggest_ranks_the_line_the_models_disagree_on_first(tmp_path):
    import cv2

    folder, images = copied_lines(tmp_path, 6)
    # the same print upside down: every model reads something else
    turned = cv2.rotate(cv2.imread(str(images[0])), cv2.ROTATE_180)
    cv2.imwrite(str(folder / 'turned.png'), turned)
    run(SUGGEST + ['-m', ','.join(MEMBERS), '-o', str(tmp_path / 'rank.tsv'), str(folder)], cwd=tmp_path)
    rows = [line.split('\t') for line in (tmp_path / 'rank.tsv').read_text(encoding='utf-8').splitlines()[1:]]
    assert len(rows) == 7 and rows[0][4].endswith('turned.png')
    assert float(rows[0][2]) > max(float(row[2]) for row in rows[1:])  # the models disagree most there
    assert [float(row[1]) for row in rows] == sorted((float(row[1]) for row in rows), reverse=True)


def test_suggest_marks_the_lines_of_a_workspace_in_a_new_file_grp(tmp_path):
    directory = make_workspace(tmp_path / 'ws', KANT[1:])
    result = run(SUGGEST + ['-m', ','.join(MEMBERS[:2]), '-I', 'OCR-D-GT-SEG', '-O', 'OCR-D-SUGGEST', '.'],
                 cwd=directory)
    assert '31 lines ranked' in result.stdout
    first = (directory / 'suggest.tsv').read_text(encoding='utf-8').splitlines()[1].split('\t')
    path = output_pages(directory, 'OCR-D-SUGGEST')['PHYS_0020']
    lines = parse(str(path), silence=True).get_Page().get_AllTextLines()
    ranks = {line.id: line.get_custom().split('suggest {rank:')[1].split(';')[0] for line in lines}
    assert sorted(map(int, ranks.values())) == list(range(1, 32))
    assert ranks[first[4].split('/')[1]] == '1'
    marked = next(line for line in lines if line.id == first[4].split('/')[1])
    assert marked.get_TextEquiv()[0].Unicode == first[5] and not marked.get_Word()
    assert set(output_pages(directory, 'OCR-D-GT-SEG')) == {'PHYS_0020'}  # the input fileGrp kept
    again = run(SUGGEST + ['-m', MEMBERS[0], '-I', 'OCR-D-GT-SEG', '.'], cwd=directory, check=False)
    assert again.returncode != 0 and 'exists' in again.stderr and 'Traceback' not in again.stderr


def test_predict_chooses_the_fraktur_model_for_fraktur_lines_by_default(tmp_path):
    """ocrd-ppocr-predict with no -m reads as ocrd-ppocr-recognize does
    (model auto, hyphen -): each folder's Fraktur lines by the Fraktur model,
    far better than the general model forced."""
    def cer_of(out):
        pairs = [(gt.read_text(encoding='utf-8'),
                  (out / gt.relative_to(LINES)).with_name(gt.name.replace('.gt.txt', '.pred.txt'))
                  .read_text(encoding='utf-8')) for gt in sorted(LINES.rglob('*.gt.txt'))]
        return line_cer(pairs)

    auto = run(PREDICT + ['-o', str(tmp_path / 'auto'), str(LINES)], cwd=tmp_path)
    assert 'chosen per folder and line' in auto.stdout, auto.stdout
    run(PREDICT + ['-m', MEMBERS[1], '-o', str(tmp_path / 'general'), str(LINES)], cwd=tmp_path)
    run(PREDICT + ['-m', MEMBERS[0], '-o', str(tmp_path / 'fraktur'), str(LINES)], cwd=tmp_path)
    general, fraktur, chosen = (cer_of(tmp_path / name) for name in ('general', 'fraktur', 'auto'))
    assert chosen <= fraktur + 0.005 and chosen < general / 2, (chosen, fraktur, general)
    texts = [p.read_text(encoding='utf-8') for p in (tmp_path / 'auto').rglob('*.pred.txt')]
    assert any('ſ' in text for text in texts)
    assert not any(text.rstrip().endswith(('⸗', '—')) and text.rstrip()[-2:-1].isalpha() for text in texts)
