"""The installed PP-OCR models the benchmark pairs up, found where our
processors find them (the OCR-D resource locations)."""
from pathlib import Path

from ocrd_ppocr.resources import find_resource

DETECTORS = ['PP-OCRv3_det_mobile', 'PP-OCRv4_det_mobile', 'PP-OCRv5_det_mobile',
             'PP-OCRv6_det_small', 'PP-OCRv6_det_tiny']
RECOGNISERS = ['PP-OCRv4_rec_mobile', 'PP-OCRv5_rec_mobile', 'PP-OCRv6_rec_small', 'PP-OCRv6_rec_tiny']
DEFAULT_DETECTOR, DEFAULT_RECOGNISER = 'PP-OCRv6_det_tiny', 'PP-OCRv6_rec_small'


class ModelMissing(RuntimeError):
    """A model the benchmark needs is not installed."""


def model_file(name, suffix='.onnx'):
    """Absolute path of an installed resource `name` (+ suffix), found as the
    processors find it (ocrd_ppocr.resources)."""
    found = find_resource(name + suffix)
    if found is None:
        raise ModelMissing(f'model {name}{suffix} is not installed: run `make models`')
    return Path(found).resolve()


def dictionary_file(recogniser, directory):
    """A dictionary file for `recogniser`, one character a line, as the peers
    want it: the `.txt` beside the model, else written from its metadata."""
    model = model_file(recogniser)
    sibling = model.with_suffix('.txt')
    if sibling.is_file():
        return sibling
    from ocrd_ppocr.engine.session import load_session, model_metadata
    characters = model_metadata(load_session(str(model)))['character']
    path = Path(directory) / f'{recogniser}.txt'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(characters + '\n', encoding='utf-8')
    return path
