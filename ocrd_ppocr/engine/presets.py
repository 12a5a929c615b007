"""Named device presets: a model pairing with the input geometry and
normalisation a target device uses, so x86 can predict what it reads.

The MaixCAM station (Sophgo cv181x, Sipeed's default pp_ocr.mud) runs
PP-OCRv3 detection with a fixed 224x320 input (aspect ratio kept, padded),
normalised with mean 123.675/116.28/103.53 and scale 1/(255*std) for
std 0.229/0.224/0.225 on BGR pixels, the same ImageNet normalisation as
engine.detect, and PP-OCRv4 recognition with a fixed 48x320 input, mean
127.5 and scale 1/127.5, the same as engine.recognize. Both run as INT8;
`maixcam-fp32` is the same pairing and geometry in float, for comparison.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    det_model: str
    rec_model: str
    det_shape: tuple  # fixed detector input (h, w)
    rec_width: int  # fixed recogniser input width at height 48


PRESETS = {
    'maixcam': Preset('maixcam', 'PP-OCRv3_det_maixcam_int8.onnx', 'PP-OCRv4_rec_maixcam_int8.onnx', (224, 320), 320),
    'maixcam-fp32': Preset('maixcam-fp32', 'PP-OCRv3_det_maixcam_fp32.onnx', 'PP-OCRv4_rec_maixcam_fp32.onnx',
                           (224, 320), 320),
}
