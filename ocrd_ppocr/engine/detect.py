"""DB text detection (PP-OCRv3/v4/v5/v6 detectors).

Pre-processing and post-processing follow PaddleOCR's DetResizeForTest and
DBPostProcess in behaviour: resize so that a chosen side meets
`limit_side_len` (rounded to multiples of 32, capped at `max_side_len`),
normalise with ImageNet mean/std on the BGR image as PaddleOCR does, threshold
the probability map, score each component on the map, and grow ("unclip") the
shrunk kernel back to the text's extent with a Vatti offset.
"""
from dataclasses import dataclass, field
from typing import List

import cv2
import numpy as np
import pyclipper
from shapely.geometry import Polygon

from .pixels import as_bgr
from .session import ModelError, load_session

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255
INV_STD = (1 / STD).astype(np.float32)


@dataclass
class DetectorOptions:
    limit_side_len: int = 2048
    limit_type: str = 'max'  # 'max': longest side at most limit; 'min': shortest side at least limit
    max_side_len: int = 4000
    thresh: float = 0.3
    # 0.5, not PaddleOCR's 0.6: letter-spaced emphasis (kant 0017), formula lines and
    # subscripts (DocBank) score 0.50-0.60 and were lost; no extra lines on bebel
    box_thresh: float = 0.5
    unclip_ratio: float = 1.2
    max_candidates: int = 1000
    use_dilation: bool = False
    score_mode: str = 'fast'  # 'fast': score on the bounding box; 'slow': on the contour
    box_type: str = 'quad'  # 'quad': minimum-area rectangles; 'poly': contour polygons
    min_size: int = 3
    # Huge pages (a 15000x10000 scan) shrunk to limit_side_len lose their text:
    # below this shrink factor the page is instead scaled by `tile_scale` and
    # the network runs on tiles of limit_side_len, their maps stitched together.
    tile_below_scale: float = 0.33
    tile_scale: float = 0.5
    # A fixed network input (h, w), e.g. the MaixCAM station's (224, 320): the
    # image is letterboxed into it, or with tile_below_scale=0 and tile_scale>0
    # scaled by tile_scale and cut into tiles of that size.
    fixed_shape: tuple = None


@dataclass
class Detection:
    points: np.ndarray  # (N, 2) float32, image pixel coordinates (x, y)
    score: float


@dataclass
class DetectionResult:
    detections: List[Detection] = field(default_factory=list)
    input_shape: tuple = ()  # (h, w) the model saw


def check_detector(session, path='model'):
    """Reject a file that is not a DB detector: one image input Nx3xHxW, one
    probability map output Nx1xHxW."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    ok = (len(inputs) == 1 and len(outputs) == 1
          and len(inputs[0].shape) == 4 and inputs[0].shape[1] == 3
          and len(outputs[0].shape) == 4 and outputs[0].shape[1] == 1)
    if not ok:
        raise ModelError(f'{path} is not a text detection model (expected input Nx3xHxW and a '
                         f'Nx1xHxW probability map, found {[i.shape for i in inputs]} -> '
                         f'{[o.shape for o in outputs]})')


def resize_shape(height, width, opts):
    """Target (h, w), multiples of 32, as PaddleOCR's DetResizeForTest computes it."""
    if opts.limit_type == 'min':
        ratio = opts.limit_side_len / min(height, width) if min(height, width) < opts.limit_side_len else 1.0
    elif opts.limit_type == 'max':
        ratio = opts.limit_side_len / max(height, width) if max(height, width) > opts.limit_side_len else 1.0
    else:
        raise ValueError(f"limit_type must be 'min' or 'max', not {opts.limit_type!r}")
    if max(height, width) * ratio > opts.max_side_len:
        ratio = opts.max_side_len / max(height, width)
    new_h = max(int(round(height * ratio / 32) * 32), 32)
    new_w = max(int(round(width * ratio / 32) * 32), 32)
    return new_h, new_w


def normalise(image, shape):
    """uint8 BGR (h, w, 3) or grey (h, w) -> float32 1x3xHxW at `shape`,
    ImageNet-normalised. Each plane of the blob is written in place from its
    channel (a grey page's one channel serves all three): a quarter of the
    time of OpenCV's blobFromImage plus a scaling pass, the same floats."""
    resized = cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    blob = np.empty((1, 3, shape[0], shape[1]), dtype=np.float32)
    for c in range(3):
        channel = resized if resized.ndim == 2 else resized[:, :, c]
        np.subtract(channel, MEAN[c], out=blob[0, c], dtype=np.float32)
        blob[0, c] *= INV_STD[c]
    return blob


class TextDetector:
    """A DB detector built from an ONNX file; `detect(image)` returns text boxes."""

    def __init__(self, model_path, options=None, threads=0, device='cpu'):
        self.session = load_session(model_path, threads, device)
        check_detector(self.session, model_path)
        self.input_name = self.session.get_inputs()[0].name
        self.options = options or DetectorOptions()

    def probability_map(self, image):
        """Run the network on a uint8 BGR or grey image; returns the map at the
        (scaled) image's resolution and the input shape the network saw."""
        height, width = image.shape[:2]
        opts = self.options
        if opts.fixed_shape and opts.tile_scale and opts.tile_below_scale == 0:
            return self._tiled_map(image, opts.tile_scale, opts.fixed_shape)
        if opts.fixed_shape:
            return self._letterboxed_map(image, opts.fixed_shape)
        shape = resize_shape(height, width, opts)
        if opts.tile_below_scale and shape[0] / height < opts.tile_below_scale:
            tile = max(32, opts.limit_side_len // 32 * 32)
            return self._tiled_map(image, opts.tile_scale, (tile, tile))
        return self._run(normalise(image, shape)), shape

    def _run(self, blob):
        return self.session.run(None, {self.input_name: blob})[0][0, 0]

    def _letterboxed_map(self, image, shape):
        """A model with a fixed input (the MaixCAM station's 224x320): the image
        (BGR or grey) scaled to fit, aspect ratio kept, padded black at the
        right and bottom as the station does; the map is cut back to the image's part."""
        height, width = image.shape[:2]
        scale = min(shape[0] / height, shape[1] / width)
        inner = (max(1, int(round(height * scale))), max(1, int(round(width * scale))))
        canvas = np.zeros((shape[0], shape[1], 3), dtype=np.uint8)
        canvas[:inner[0], :inner[1]] = as_bgr(cv2.resize(image, (inner[1], inner[0]), interpolation=cv2.INTER_AREA))
        blob = ((canvas.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)[np.newaxis]
        return self._run(blob)[:inner[0], :inner[1]], shape

    def _tiled_map(self, image, scale, tile):
        """The map of an image (BGR or grey) scaled by `scale` and cut into
        overlapping tiles of `tile` (h, w), each run alone (padded white to the
        tile size, or to multiples of 32), maps pasted by maximum. A grey page
        gets its three channels after scaling, not at full size."""
        height, width = image.shape[:2]
        shape = (max(32, int(height * scale)), max(32, int(width * scale)))
        scaled = as_bgr(cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA))
        fixed = self.options.fixed_shape is not None
        pred = np.zeros(shape, dtype=np.float32)
        for y in _starts(shape[0], tile[0]):
            for x in _starts(shape[1], tile[1]):
                window = scaled[y:y + tile[0], x:x + tile[1]]
                h, w = window.shape[:2]
                size = tile if fixed else (-(-h // 32) * 32, -(-w // 32) * 32)
                padded = np.full((size[0], size[1], 3), 255, dtype=np.uint8)
                padded[:h, :w] = window
                blob = (padded.astype(np.float32) - MEAN) / STD
                part = self._run(blob.transpose(2, 0, 1)[np.newaxis])[:h, :w]
                np.maximum(pred[y:y + h, x:x + w], part, out=pred[y:y + h, x:x + w])
        return pred, tile

    def detect(self, image):
        """Text boxes of a uint8 BGR or grey image, in that image's pixel coordinates."""
        height, width = image.shape[:2]
        if height < 2 or width < 2:
            return DetectionResult([], (0, 0))
        pred, shape = self.probability_map(image)
        detections = postprocess(pred, (height, width), self.options)
        return DetectionResult(detections, shape)


def _starts(length, tile):
    """Tile origins along one axis, tiles overlapping by an eighth."""
    step = max(1, tile - tile // 8)
    return range(0, max(length - tile // 8, 1), step)


def postprocess(pred, src_shape, opts):
    """DB post-processing of a probability map `pred` (h', w') for a source image
    of `src_shape` (h, w): boxes scaled back to source pixels."""
    bitmap = (pred > opts.thresh).astype(np.uint8)
    if opts.use_dilation:
        bitmap = cv2.dilate(bitmap, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    scale = np.array([src_shape[1] / pred.shape[1], src_shape[0] / pred.shape[0]], dtype=np.float32)
    limit = np.array([src_shape[1], src_shape[0]], dtype=np.float32)
    detections = []
    for contour in contours[:opts.max_candidates]:
        if opts.box_type == 'poly':
            points = _polygon_candidate(pred, contour, opts)
        else:
            points = _quad_candidate(pred, contour, opts)
        if points is None:
            continue
        points, score = points
        points = np.clip(points * scale, 0, limit)
        detections.append(Detection(points.astype(np.float32), float(score)))
    return detections


def _quad_candidate(pred, contour, opts):
    box, short_side = mini_box(contour.reshape(-1, 2))
    if short_side < opts.min_size:
        return None
    score = box_score(pred, box if opts.score_mode == 'fast' else contour.reshape(-1, 2))
    if score < opts.box_thresh:
        return None
    grown = unclip(box, opts.unclip_ratio)
    if grown is None:
        return None
    box, short_side = mini_box(grown)
    if short_side < opts.min_size + 2:
        return None
    return box, score


def _polygon_candidate(pred, contour, opts):
    epsilon = 0.002 * cv2.arcLength(contour, True)
    points = cv2.approxPolyDP(contour, epsilon, True).reshape(-1, 2)
    if len(points) < 4:
        return None
    score = box_score(pred, points if opts.score_mode == 'fast' else contour.reshape(-1, 2))
    if score < opts.box_thresh:
        return None
    grown = unclip(points, opts.unclip_ratio)
    if grown is None:
        return None
    _, short_side = mini_box(grown)
    if short_side < opts.min_size + 2:
        return None
    return grown.astype(np.float32), score


def mini_box(points):
    """Minimum-area rectangle of `points` as 4 corners (clockwise from top-left)
    and the length of its shorter side."""
    rect = cv2.minAreaRect(points.astype(np.float32))
    corners = sorted(cv2.boxPoints(rect).tolist(), key=lambda p: p[0])
    left = sorted(corners[:2], key=lambda p: p[1])
    right = sorted(corners[2:], key=lambda p: p[1])
    box = np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)
    return box, min(rect[1])


def box_score(pred, points):
    """Mean probability inside the polygon `points` (map coordinates)."""
    h, w = pred.shape
    points = np.asarray(points, dtype=np.float32)
    xmin = int(np.clip(np.floor(points[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(points[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(points[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(points[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    shifted = (points - [xmin, ymin]).round().astype(np.int32)
    cv2.fillPoly(mask, [shifted], 1)
    return cv2.mean(pred[ymin:ymax + 1, xmin:xmax + 1], mask)[0]


def unclip(points, ratio):
    """Grow the shrunk text kernel by area * ratio / perimeter (DB's inverse shrink)."""
    polygon = Polygon(points)
    if polygon.length == 0:
        return None
    distance = polygon.area * ratio / polygon.length
    offset = pyclipper.PyclipperOffset()
    offset.AddPath([tuple(map(float, p)) for p in points], pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    grown = offset.Execute(distance)
    if len(grown) != 1:
        return None
    return np.array(grown[0], dtype=np.float32)
