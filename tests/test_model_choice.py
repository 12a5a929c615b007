"""model=auto (the default): each line read by the better of the general and
the Fraktur recogniser, the choice written to PAGE; -P model still forces one;
line-end hyphens written - by default.

The mixed pages are composed here from real print: GT line images of kant
(Fraktur, 1784, 300 dpi) and bebel (Antiqua, 1879, 600 dpi scaled to 300),
pasted one under another on a white page, each with its GT text and its place
as the line's polygon."""
import unicodedata

import cv2
import numpy as np
import pytest
from ocrd_models.ocrd_page import (CoordsType, MetadataType, PageType, PcGtsType, TextEquivType, TextLineType,
                                   TextRegionType, parse, to_xml)
from PIL import Image

from conftest import BEBEL, DATA, KANT, make_workspace, model_path, output_pages, run
from scoring import cer
from ocrd_ppocr.engine.charset import allowed_classes, is_latin
from ocrd_ppocr.engine.crop import crop_polygon
from ocrd_ppocr.engine.model_choice import ModelChooser
from ocrd_ppocr.engine.recognize import TextRecognizer

GAP = 24  # white pixels between pasted lines
GENERAL, FRAKTUR = 'PP-OCRv6_rec_small', 'PP-OCRv6_rec_small_fraktur'


def _norm(text):
    return unicodedata.normalize('NFC', ' '.join((text or '').split()))


def _gt_lines(image_path, page_path, scale, count):
    """(grey crop, GT text) of the first `count` lines of a GT page with at
    least 30 characters, cut along their bounding boxes, scaled by `scale`."""
    image = Image.open(image_path).convert('L')
    lines = []
    for line in parse(str(page_path), silence=True).get_Page().get_AllTextLines():
        text = _norm(line.get_TextEquiv()[0].Unicode if line.get_TextEquiv() else '')
        if len(text) < 30:
            continue
        points = np.array([[int(v) for v in xy.split(',')] for xy in line.get_Coords().points.split()])
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        crop = image.crop((int(x0), int(y0), int(x1) + 1, int(y1) + 1))
        if scale != 1:
            crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.LANCZOS)
        lines.append((crop, text))
        if len(lines) == count:
            break
    return lines


def _compose(directory, name, blocks):
    """A page image and GT PAGE of the (kind, crop, text) lines of `blocks`,
    pasted top to bottom in one region; returns (image, PAGE path)."""
    lines = [line for block in blocks for line in block]
    width = max(crop.width for _, crop, _ in lines) + 2 * GAP
    height = sum(crop.height + GAP for _, crop, _ in lines) + GAP
    page = Image.new('L', (width, height), 255)
    region = TextRegionType(id='r0', Coords=CoordsType(f'0,0 {width - 1},0 {width - 1},{height - 1} 0,{height - 1}'))
    y = GAP
    for index, (kind, crop, text) in enumerate(lines):
        page.paste(crop, (GAP, y))
        x0, x1, y1 = GAP, GAP + crop.width - 1, y + crop.height - 1
        coords = CoordsType(f'{x0},{y} {x1},{y} {x1},{y1} {x0},{y1}')
        region.add_TextLine(TextLineType(id=f'{kind}_{index}', Coords=coords, TextEquiv=[TextEquivType(Unicode=text)]))
        y += crop.height + GAP
    image_path = directory / f'{name}.tif'
    page.save(image_path, dpi=(300, 300))
    pcgts = PcGtsType(Metadata=MetadataType(Creator='tests/test_model_choice.py', Created='2026-12-07T00:00:00',
                                            LastChange='2026-12-07T00:00:00'),
                      Page=PageType(imageFilename=image_path.name, imageWidth=width, imageHeight=height,
                                    TextRegion=[region]))
    page_path = directory / f'{name}.xml'
    page_path.write_text(to_xml(pcgts), encoding='utf-8')
    return image_path, page_path


@pytest.fixture(scope='module')
def mixed(tmp_path_factory):
    """Two composed pages, each read with the defaults and with -P model forced:
    FRAKTUR_PAGE 8 kant lines with 3 bebel lines amid them, ANTIQUA_PAGE
    8 bebel lines with 3 kant lines amid them."""
    source = tmp_path_factory.mktemp('mixed_source')
    _, kant_image, kant_page = KANT[1]
    _, bebel_image, bebel_page = BEBEL[0]
    kant = [('kant', crop, text) for crop, text in _gt_lines(kant_image, kant_page, 1, 11)]
    bebel = [('bebel', crop, text) for crop, text in _gt_lines(bebel_image, bebel_page, 0.5, 11)]
    pages = [('PHYS_0001',) + _compose(source, 'fraktur_page', [kant[:4], bebel[:3], kant[4:8]]),
             ('PHYS_0002',) + _compose(source, 'antiqua_page', [bebel[3:7], kant[8:11], bebel[7:11]])]
    directory = make_workspace(tmp_path_factory.mktemp('mixed'), pages)
    common = ['-I', 'OCR-D-GT-SEG', '-P', 'textequiv_level', 'line']
    run(['ocrd-ppocr-recognize', '-O', 'AUTO'] + common, cwd=directory)
    run(['ocrd-ppocr-recognize', '-O', 'GENERAL', '-P', 'model', GENERAL] + common, cwd=directory)
    return directory


def _read(path):
    """{line id: (text, fontFamily or None)} and the model-choice Labels {type: value}."""
    pcgts = parse(str(path), silence=True)
    lines = {}
    for line in pcgts.get_Page().get_AllTextLines():
        style = line.get_TextStyle()
        lines[line.id] = (_norm(line.get_TextEquiv()[0].Unicode), style.get_fontFamily() if style else None)
    labels = {label.get_type(): label.get_value()
              for item in pcgts.get_Metadata().get_MetadataItem() for labels in item.get_Labels()
              if labels.get_externalId() == 'model-choice' for label in labels.get_Label()}
    return lines, labels


def _cer(gt, out, kind):
    keys = [key for key in gt if key.startswith(kind)]
    return cer([(gt[key], out[key][0]) for key in keys])


def _gt(directory, page_id):
    return {key: text for key, (text, _) in _read(output_pages(directory, 'OCR-D-GT-SEG')[page_id])[0].items()}


def test_auto_reads_fraktur_and_antiqua_lines_of_one_page(mixed):
    for page_id in ('PHYS_0001', 'PHYS_0002'):
        gt = _gt(mixed, page_id)
        auto, _ = _read(output_pages(mixed, 'AUTO')[page_id])
        general, _ = _read(output_pages(mixed, 'GENERAL')[page_id])
        # kant's lines: the general model alone misreads Fraktur (about 12 % CER on these pages)
        assert _cer(gt, auto, 'kant') <= 0.07, (page_id, _cer(gt, auto, 'kant'))
        assert _cer(gt, auto, 'kant') < _cer(gt, general, 'kant') / 2
        # bebel's Antiqua lines: as well read as by the general model
        assert _cer(gt, auto, 'bebel') <= max(0.02, _cer(gt, general, 'bebel') + 0.005), page_id
        # Fraktur's spelling on its lines, as kant's GT writes it
        assert 'ſ' in ' '.join(text for key, (text, _) in auto.items() if key.startswith('kant'))


def test_auto_writes_the_choice_to_page(mixed):
    for page_id, primary in (('PHYS_0001', FRAKTUR), ('PHYS_0002', GENERAL)):
        lines, labels = _read(output_pages(mixed, 'AUTO')[page_id])
        fonts = {key: font for key, (_, font) in lines.items()}
        assert set(fonts.values()) <= {'Antiqua', 'Fraktur'} and None not in fonts.values()
        assert labels['primary'] == primary
        # the Labels count the lines each model read, as the fontFamily of the lines says
        assert int(labels.get(FRAKTUR, 0)) == sum(font == 'Fraktur' for font in fonts.values())
        assert int(labels.get(GENERAL, 0)) == sum(font == 'Antiqua' for font in fonts.values())
        # every Fraktur line was read by the Fraktur model
        assert all(font == 'Fraktur' for key, font in fonts.items() if key.startswith('kant')), fonts
    # on the Antiqua page, its Antiqua lines by the general model
    lines, _ = _read(output_pages(mixed, 'AUTO')['PHYS_0002'])
    assert all(font == 'Antiqua' for key, (_, font) in lines.items() if key.startswith('bebel'))


def test_forced_model_reads_every_line_and_records_no_choice(mixed):
    for page_id in ('PHYS_0001', 'PHYS_0002'):
        lines, labels = _read(output_pages(mixed, 'GENERAL')[page_id])
        assert labels == {}
        assert all(font is None for _, font in lines.values())
        # the general model with all its characters: no ſ, as it has always read
        assert not any('ſ' in text for text, _ in lines.values())


def test_line_end_hyphen_is_written_as_the_gt_does(tmp_path):
    """kant's GT ends split words with -; by default so do we (the Fraktur
    model reads ⸗ or — there), with -P hyphen ⸗ the mark is ⸗."""
    directory = make_workspace(tmp_path, KANT[1:])
    common = ['-I', 'OCR-D-GT-SEG', '-P', 'textequiv_level', 'line', '-P', 'overwrite_segments', 'true']
    run(['ocrd-ppocr-recognize', '-O', 'DEFAULT'] + common, cwd=directory)
    run(['ocrd-ppocr-recognize', '-O', 'OBLIQUE', '-P', 'hyphen', '⸗'] + common, cwd=directory)
    gt = _gt(directory, 'PHYS_0020')
    default, _ = _read(output_pages(directory, 'DEFAULT')['PHYS_0020'])
    oblique, _ = _read(output_pages(directory, 'OBLIQUE')['PHYS_0020'])
    split = [key for key, text in gt.items() if text.endswith('-') and _letter_before_last(text)]
    assert len(split) >= 5
    for key, (text, _) in default.items():
        assert not (len(text) > 1 and text[-1] in '⸗—–¬=' and _letter_before_last(text)), text
    assert sum(default[key][0].endswith('-') for key in split) >= len(split) - 1
    assert sum(oblique[key][0].endswith('⸗') for key in split) >= len(split) - 1
    # the same reading but for that mark
    for key in split:
        if default[key][0].endswith('-'):
            assert oblique[key][0] == default[key][0][:-1] + '⸗'


def _letter_before_last(text):
    """True if the character before the last is a letter (with or without its small e: aͤ)."""
    return text[:-1].rstrip('\u0364')[-1:].isalpha()


def _engine_chooser():
    general = TextRecognizer(model_path(GENERAL + '.onnx', 'ocrd-ppocr-recognize'))
    fraktur = TextRecognizer(model_path(FRAKTUR + '.onnx', 'ocrd-ppocr-recognize'))
    return ModelChooser(general, fraktur, {'general': GENERAL, 'fraktur': FRAKTUR},
                        allowed_classes(general.labels, 'latin'))


def test_engine_reads_a_chinese_line_with_the_general_model_and_all_characters():
    """A page that does not read as Latin script: the general model alone,
    its whole dictionary (RapidOCR's test line 韩国小馆, tests/data/recognize)."""
    lines, choice = _engine_chooser().read_page([cv2.imread(str(DATA / 'recognize' / 'text_rec.jpg'))])
    assert lines[0].text == '韩国小馆' and lines[0].model == GENERAL
    assert choice.primary == 'general' and not choice.latin and choice.rechecked == 0


def test_engine_reads_a_latin_page_number_without_ideographs():
    """bebel's page number '— 170 —', which the general model reads with the
    ideograph 一 over all its characters: on a Latin page (the rest of the
    page's lines) no line has a character outside Latin script."""
    _, image_path, page_path = BEBEL[2]
    image = cv2.imread(str(image_path), cv2.IMREAD_GRAYSCALE)
    crops = [crop_polygon(image, np.array([[int(v) for v in xy.split(',')] for xy in line.get_Coords().points.split()]))
             .image for line in parse(str(page_path), silence=True).get_Page().get_AllTextLines()[:12]]
    lines, choice = _engine_chooser().read_page(crops)
    assert choice.latin and choice.primary == 'general'
    assert lines[0].text.endswith('170 —') and all(is_latin(line.text) for line in lines)
    assert all(line.model in (GENERAL, FRAKTUR) for line in lines)


def test_an_unsure_fraktur_reading_does_not_replace_the_antiqua_one():
    """On an Antiqua page the Fraktur model's reading of a line wins only if
    it is not itself unsure (TRUST): a rule on a magazine page read as
    'anſnnvsnnane' (0.62) by it and '2' (0.5) by the general model keeps the
    latter; a confident Fraktur reading still wins, and on a Fraktur page a
    clearly more confident general reading does."""
    from ocrd_ppocr.engine.model_choice import TRUST
    from ocrd_ppocr.engine.recognize import LineResult
    chooser = ModelChooser(None, None, {'general': GENERAL, 'fraktur': FRAKTUR})
    assert TRUST['fraktur'] == 0.8
    assert chooser._better(LineResult('2', 0.5), LineResult('anſnnvsnnane', 0.62), 'general').text == '2'
    won = chooser._better(LineResult('Sraktur', 0.7), LineResult('Fraktur', 0.9), 'general')
    assert (won.text, won.model) == ('Fraktur', FRAKTUR)
    won = chooser._better(LineResult('Ⱥntiqua', 0.5), LineResult('Antiqua', 0.99), 'fraktur')
    assert (won.text, won.model) == ('Antiqua', GENERAL)
