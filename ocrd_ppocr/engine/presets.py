"""Named device presets: a model pairing with the input geometry and
pipeline a target device uses, so x86 can predict what it reads.

The MaixCAM station (Sophgo cv181x, Sipeed's default pp_ocr.mud) runs
PP-OCRv3 detection with a fixed 224x320 input and PP-OCRv4 recognition with
a fixed 48x320 input, both INT8, through MaixCDK's `nn::PP_OCR`.

- `maixcam` / `maixcam-fp32`: the station's pipeline step by step
  (engine.maixcam_pipeline, with the constants of STATION below), on the
  INT8 graphs or in float.
- `maixcam-models` / `maixcam-models-fp32`: the station's two models at its
  input sizes, read through our own pipeline (ink-aware cropping with margin
  and masking, long lines cut at blank columns, box_thresh 0.5, lines merged
  and fitted to the ink). Better readings; not what the station reads.
"""
from dataclasses import dataclass

# MaixCDK sources the station constants follow (github.com/sipeed/MaixCDK):
MAIXCDK_PP_OCR = 'components/nn/src/maix_nn_pp_ocr.cpp@0f75cefa'
MAIXCDK_PP_OCR_HEADER = 'components/nn/include/maix_nn_pp_ocr.hpp@1347fb5e'
MAIXCDK_DB_POSTPROCESS = 'components/nn/src/pp_ocr_postprocess_op.cpp@93d6bf5b'
MAIXCDK_IMAGE = 'components/vision/src/maix_image.cpp@53edc3d7'


@dataclass(frozen=True)
class StationSettings:
    """What MaixCDK's PP_OCR does, as numbers (see maixcam_pipeline for the steps)."""
    # the detector input (h, w): the cvimodel's fixed input; the frame is fitted into it
    # centred, padded black (maix_image.cpp Image::resize, FIT_CONTAIN, the default fit of
    # PP_OCR::detect in maix_nn_pp_ocr.hpp), by Image::resize's default NEAREST interpolation
    # (its declaration in maix_image.hpp; forward_image itself is in the closed libmaixcam_lib)
    det_shape: tuple = (224, 320)
    # pp_ocr.mud's det mean/scale on BGR pixels (input_type = bgr): ImageNet's, in the order
    # PaddleOCR applies it to cv2 images; ocrd_ppocr.maixcam.export writes the same values
    det_mean: tuple = (123.675, 116.28, 103.53)
    det_scale: tuple = (1 / (255 * 0.229), 1 / (255 * 0.224), 1 / (255 * 0.225))
    # PP_OCR::detect(img, thresh=0.3, box_thresh=0.6, ...) in maix_nn_pp_ocr.hpp; the map is
    # cut to uint8 first, bitmap = uint8(p * 255) > uint8(thresh * 255) (maix_nn_pp_ocr.cpp L55-66)
    thresh: float = 0.3
    box_thresh: float = 0.6
    # the header's private defaults: _unclip_ratio = 1.5, _max_candidates = 1000,
    # _use_dilation = false, _score_mode = "fast"
    unclip_ratio: float = 1.5
    max_candidates: int = 1000
    # BoxesFromBitmap's min_size = 3, tested against the LONGER side of the box (its
    # GetMiniBoxes returns max(width, height)), and min_size + 2 after unclipping
    min_size: int = 3
    # the recogniser input (h, w); a line resized to height 48 wider than 320 is cut every
    # 320 pixels, the last piece (or a short line) padded black on the right
    # (maix_nn_pp_ocr.cpp L186-232)
    rec_shape: tuple = (48, 320)
    rec_pad: int = 0
    rec_mean: float = 127.5
    rec_scale: float = 1 / 127.5
    # a crop at least this many times taller than wide is turned 90 degrees
    # counter-clockwise (transpose + flip, maix_nn_pp_ocr.cpp L173-178)
    vertical_ratio: float = 1.5


STATION = StationSettings()


@dataclass(frozen=True)
class Preset:
    name: str
    det_model: str
    rec_model: str
    det_shape: tuple  # fixed detector input (h, w)
    rec_width: int  # fixed recogniser input width at height 48
    station: bool  # True: MaixCDK's pipeline (engine.maixcam_pipeline); False: ours


_INT8 = ('PP-OCRv3_det_maixcam_int8.onnx', 'PP-OCRv4_rec_maixcam_int8.onnx')
_FP32 = ('PP-OCRv3_det_maixcam_fp32.onnx', 'PP-OCRv4_rec_maixcam_fp32.onnx')
_GEOMETRY = (STATION.det_shape, STATION.rec_shape[1])

PRESETS = {
    'maixcam': Preset('maixcam', *_INT8, *_GEOMETRY, station=True),
    'maixcam-fp32': Preset('maixcam-fp32', *_FP32, *_GEOMETRY, station=True),
    'maixcam-models': Preset('maixcam-models', *_INT8, *_GEOMETRY, station=False),
    'maixcam-models-fp32': Preset('maixcam-models-fp32', *_FP32, *_GEOMETRY, station=False),
}
