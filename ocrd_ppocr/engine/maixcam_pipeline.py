"""The MaixCAM station's OCR pipeline, step by step (`-P preset maixcam`).

The station runs PP-OCR through MaixCDK's `nn::PP_OCR` (github.com/sipeed/
MaixCDK; files and commits in presets.MAIXCDK_*, constants in
presets.STATION). This module redoes each of its steps in numpy and OpenCV,
with our ONNX graphs in place of the cvimodels, so that an image gives the
boxes and text the station would give, up to the INT8 arithmetic. Where the
station differs from PaddleOCR or from our own pipeline (engine.detect,
engine.crop, engine.recognize), the station wins here: this predicts a
reading, it does not try to improve it.

Detection (maix_nn_pp_ocr.hpp PP_OCR::detect, maix_nn_pp_ocr.cpp _post_process):
 1. the frame is fitted into 224x320, centred, padded black, nearest-neighbour
    (maix_image.cpp Image::resize, FIT_CONTAIN);
 2. the probability map is cut to uint8 and thresholded (cpp L55-66);
 3. DB boxes as pp_ocr_postprocess_op.cpp BoxesFromBitmap does them: a
    contour's minimum-area rectangle, kept if its LONGER side is >= 3, its
    mean probability (corners truncated to integers) >= 0.6, grown by
    unclip ratio 1.5 from integer corners, kept if its longer side is >= 5,
    corners rounded to integers (cpp L77);
 4. corners mapped back to the frame with the float padding and truncated to
    integers, some clamped (cpp _correct_bbox, L255-316).
Recognition (maix_nn_pp_ocr.cpp _recognize, L143-253):
 5. the box's quadrilateral warped to a crop as wide as its top edge and as
    high as its left edge (truncated), bilinear, black outside the frame (the
    BORDER_REPLICATE in L169-171 lands in warpPerspective's `flags` slot,
    where 1 is INTER_LINEAR; the border stays constant black); no margin, no
    masking; turned 90 degrees counter-clockwise if 1.5 times taller than wide;
 6. resized (bilinear) to height 48 and width int(48 * aspect);
 7. wider than 320: cut every 320 pixels, the last piece padded black on the
    right; else padded black on the right to 320 (L191-232);
 8. each piece read alone, greedy CTC per piece (argmax, repeats collapsed,
    blanks dropped, restarting at each piece), pieces' text concatenated
    with nothing between them (L214-228).
"""
import math

import cv2
import numpy as np
import pyclipper

from .crop import LineCrop
from .detect import Detection, DetectionResult, check_detector
from .pixels import as_bgr
from .presets import STATION
from .recognize import LineResult, TextRecognizer, finish_line
from .session import load_session

F32 = np.float32


# -- detection ------------------------------------------------------------------

def letterbox(image, shape=STATION.det_shape):
    """The frame (BGR uint8) fitted into `shape` (h, w) as maix_image.cpp's
    Image::resize(FIT_CONTAIN) does it: scaled by the smaller ratio (float),
    nearest neighbour, centred at integer offsets, black around.
    Returns (canvas, scale)."""
    height, width = image.shape[:2]
    if (height, width) == tuple(shape):
        return image, 1.0  # forward_image passes a frame of the input size as it is
    scale = min(F32(shape[1]) / F32(width), F32(shape[0]) / F32(height))
    inner = cv2.resize(image, None, fx=float(scale), fy=float(scale), interpolation=cv2.INTER_NEAREST)
    canvas = np.zeros((shape[0], shape[1], 3), dtype=np.uint8)
    top, left = (shape[0] - inner.shape[0]) // 2, (shape[1] - inner.shape[1]) // 2
    canvas[top:top + inner.shape[0], left:left + inner.shape[1]] = inner
    return canvas, scale


def det_blob(canvas):
    """pp_ocr.mud's det mean and scale, channel by channel of the BGR canvas."""
    blob = (canvas.astype(np.float32) - F32(STATION.det_mean)) * F32(STATION.det_scale)
    return blob.transpose(2, 0, 1)[np.newaxis]


def bitmap_of(pred, thresh=STATION.thresh):
    """The text mask as the station computes it: the map cut to uint8 (truncating),
    compared with the threshold cut the same way (maix_nn_pp_ocr.cpp L55-66)."""
    levels = (pred * F32(255)).astype(np.uint8)
    return (levels > np.uint8(F32(thresh) * F32(255))).astype(np.uint8)


def mini_box(rect):
    """Corners (tl, tr, br, bl) of an OpenCV rotated rect and its LONGER side, as
    BoxesFromBitmap's GetMiniBoxes orders them (sorted by x; on each side the
    smaller y first, the later point on ties)."""
    return order_corners(cv2.boxPoints(rect)), max(rect[1])


def order_corners(points):
    """Four points as (tl, tr, br, bl) the way GetMiniBoxes orders them."""
    points = np.asarray(points, dtype=np.float32)
    points = points[np.argsort(points[:, 0], kind='stable')]
    left = (points[1], points[0]) if points[1][1] <= points[0][1] else (points[0], points[1])
    right = (points[3], points[2]) if points[3][1] <= points[2][1] else (points[2], points[3])
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def box_score_fast(pred, box):
    """Mean probability inside `box`, its corners truncated to integers
    (pp_ocr_postprocess_op.cpp BoxScoreFast)."""
    h, w = pred.shape
    xmin = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    corners = np.trunc(box).astype(np.int32) - [xmin, ymin]
    cv2.fillPoly(mask, [corners], 1)
    return cv2.mean(pred[ymin:ymax + 1, xmin:xmax + 1], mask)[0]


def unclip_rect(box, ratio=STATION.unclip_ratio):
    """The box grown by area * ratio / perimeter (float shoelace), offset from its
    corners truncated to integers with round joins; the minimum-area rect of
    the result, or None (pp_ocr_postprocess_op.cpp UnClip)."""
    nxt = np.roll(box, -1, axis=0)
    area = abs(float(np.sum(box[:, 0] * nxt[:, 1] - box[:, 1] * nxt[:, 0])) / 2)
    perimeter = float(np.sum(np.hypot(*(box - nxt).T)))
    if perimeter == 0:
        return None
    offset = pyclipper.PyclipperOffset()
    offset.AddPath([(int(x), int(y)) for x, y in box], pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    paths = offset.Execute(area * ratio / perimeter)
    points = np.array([p for path in paths for p in path], dtype=np.float32)
    if not len(points):
        return None  # the station's 1x1 placeholder, dropped by the size test after it
    return cv2.minAreaRect(points)


def boxes_from_bitmap(pred, bitmap, settings=STATION):
    """[(corners (4, 2) int in map pixels, score)] as BoxesFromBitmap finds them."""
    height, width = bitmap.shape
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for contour in contours[:settings.max_candidates]:
        if len(contour) <= 2:
            continue
        box, long_side = mini_box(cv2.minAreaRect(contour))
        if long_side < settings.min_size:
            continue
        score = box_score_fast(pred, box)
        if score < settings.box_thresh:
            continue
        grown = unclip_rect(box, settings.unclip_ratio)
        if grown is None or (grown[1][0] < 1.001 and grown[1][1] < 1.001):
            continue
        box, long_side = mini_box(grown)
        if long_side < settings.min_size + 2:
            continue
        rounded = np.sign(box) * np.floor(np.abs(box) + 0.5)  # C's roundf: halves away from zero
        found.append((np.clip(rounded, 0, [width, height]).astype(np.int32), float(score)))
    return found


def to_frame(corners, frame_shape, scale, shape=STATION.det_shape):
    """Map corners from the detector input back to the frame as _correct_bbox
    does for FIT_CONTAIN: float padding (not the integer offset the letterbox
    used), truncation to integers, and only the outer coordinates of each
    corner clamped (x of tl/bl and y of tl/tr at 0, x of tr/br and y of br/bl
    at the frame's width/height)."""
    height, width = frame_shape
    if (height, width) == tuple(shape):
        return corners.copy()
    inverse = F32(1.0 / float(scale))
    pad = np.array([(F32(shape[1]) - F32(width) * F32(scale)) / F32(2),
                    (F32(shape[0]) - F32(height) * F32(scale)) / F32(2)], dtype=np.float32)
    mapped = np.trunc((corners.astype(np.float32) - pad) * inverse).astype(np.int32)
    mapped[[0, 3], 0] = np.maximum(mapped[[0, 3], 0], 0)
    mapped[[0, 1], 1] = np.maximum(mapped[[0, 1], 1], 0)
    mapped[[1, 2], 0] = np.minimum(mapped[[1, 2], 0], width)
    mapped[[2, 3], 1] = np.minimum(mapped[[2, 3], 1], height)
    return mapped


class StationDetector:
    """PP_OCR::detect on one frame; with `tile_scale` > 0 a page is read as a
    grid of frames, each covering the detector input divided by tile_scale
    (the station photographing the page piece by piece; no overlap, so a line
    crossing a frame border is found in pieces, as such captures would show it)."""

    def __init__(self, model_path, threads=0, device='cpu', tile_scale=0.0, settings=STATION):
        self.session = load_session(model_path, threads, device)
        check_detector(self.session, model_path)
        self.input_name = self.session.get_inputs()[0].name
        self.settings = settings
        self.tile_scale = float(tile_scale or 0)

    def detect_frame(self, frame):
        """[(corners (4, 2) int32 in frame pixels, score)] of one BGR frame."""
        canvas, scale = letterbox(frame, self.settings.det_shape)
        pred = self.session.run(None, {self.input_name: det_blob(canvas)})[0][0, 0]
        boxes = boxes_from_bitmap(pred, bitmap_of(pred, self.settings.thresh), self.settings)
        return [(to_frame(corners, frame.shape[:2], scale, self.settings.det_shape), score)
                for corners, score in boxes]

    def detect(self, image):
        """Text boxes of a uint8 BGR or grey image (DetectionResult, image pixels)."""
        height, width = image.shape[:2]
        if height < 2 or width < 2:
            return DetectionResult([], (0, 0))
        image = as_bgr(image)
        shape = self.settings.det_shape
        if not self.tile_scale:
            frames = [(0, 0, image)]
        else:
            step_y = max(2, round(shape[0] / self.tile_scale))
            step_x = max(2, round(shape[1] / self.tile_scale))
            frames = [(x, y, image[y:y + step_y, x:x + step_x])
                      for y in range(0, height, step_y) for x in range(0, width, step_x)]
        detections = []
        for x, y, frame in frames:
            if min(frame.shape[:2]) < 2:
                continue
            for corners, score in self.detect_frame(frame):
                detections.append(Detection((corners + [x, y]).astype(np.float32), score))
        return DetectionResult(detections, tuple(shape))


# -- recognition -----------------------------------------------------------------

def station_box(points):
    """The four corners the station crops (tl, tr, br, bl): a 4-point polygon (a
    station box, or a rectangle from PAGE) as it is, ordered as GetMiniBoxes
    orders them; any other polygon reduced to its minimum-area rectangle."""
    points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(points) != 4:
        return mini_box(cv2.minAreaRect(points))[0]
    return order_corners(points)


def station_crop(image, points, settings=STATION):
    """The line cut out as _recognize does it (maix_nn_pp_ocr.cpp L151-179): no
    margin, no masking; returns a LineCrop with its transform to the image."""
    box = station_box(points)
    width = int(math.sqrt(float(box[0, 0] - box[1, 0]) ** 2 + float(box[0, 1] - box[1, 1]) ** 2))
    height = int(math.sqrt(float(box[0, 0] - box[3, 0]) ** 2 + float(box[0, 1] - box[3, 1]) ** 2))
    # the station would fail on an empty crop (cv::resize asserts): one pixel instead
    width, height = max(width, 1), max(height, 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    forward = cv2.getPerspectiveTransform(box, target)
    crop = cv2.warpPerspective(as_bgr(image), forward, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    transform = np.linalg.inv(forward)
    if crop.shape[0] >= crop.shape[1] * settings.vertical_ratio:
        # transpose + flip around the x axis = np.rot90; crop pixel (x, y) of the
        # turned image was (width - y, x) before
        crop = np.ascontiguousarray(np.rot90(crop))
        transform = transform @ np.array([[0, -1, width], [1, 0, 0], [0, 0, 1]], dtype=np.float64)
    return LineCrop(crop, transform, (0.0, float(crop.shape[1])))


def rec_pieces(crop, settings=STATION):
    """The 48x320 pieces the station reads for a BGR line crop, and the crop's
    width at height 48 (maix_nn_pp_ocr.cpp L186-232): resized bilinear to
    int(48 * aspect) wide, cut every 320 pixels if wider than 320 (by aspect),
    each piece padded black on the right to 320."""
    height, width = settings.rec_shape
    aspect = F32(crop.shape[1]) / F32(crop.shape[0])
    resized_width = max(1, int(F32(height) * aspect))  # 0 would make cv::resize assert on the station
    resized = cv2.resize(crop, (resized_width, height), interpolation=cv2.INTER_LINEAR)
    count = math.ceil(resized_width / width) if aspect > F32(width) / F32(height) else 1
    pieces = []
    for i in range(count):
        part = resized[:, i * width:(i + 1) * width]
        piece = np.full((height, width, 3), settings.rec_pad, dtype=np.uint8)
        piece[:, :part.shape[1]] = part
        pieces.append(piece)
    return pieces, resized_width


def rec_blob(piece, settings=STATION):
    """pp_ocr.mud's rec mean and scale on a 48x320 BGR piece."""
    blob = (piece.astype(np.float32) - F32(settings.rec_mean)) * F32(settings.rec_scale)
    return blob.transpose(2, 0, 1)[np.newaxis]


class StationRecognizer:
    """PP_OCR's recognition of line crops; the session, dictionary and greedy
    decoding (with each character's frames and confidence, which the station
    does not report) are TextRecognizer's."""

    def __init__(self, model_path, dictionary_path=None, threads=0, device='cpu', top_k=3,
                 script='any', whitelist='', blacklist='', settings=STATION):
        self.settings = settings
        self.reader = TextRecognizer(model_path, dictionary_path, threads=threads, device=device, batch_size=1,
                                     top_k=top_k, fixed_width=settings.rec_shape[1],
                                     script=script, whitelist=whitelist, blacklist=blacklist)
        self.labels = self.reader.labels

    def recognize(self, crops):
        """A LineResult for each line crop (LineCrop, or uint8 BGR or grey image)."""
        return [self.read_line(as_bgr(self.reader.image_of(crop))) for crop in crops]

    def read_line(self, crop):
        pieces, resized_width = rec_pieces(crop, self.settings)
        piece_width = self.settings.rec_shape[1]
        to_crop = crop.shape[1] / resized_width  # crop pixels per pixel at height 48
        line = LineResult('', 0.0)
        for i, piece in enumerate(pieces):
            probs = self.reader.session.run(None, {self.reader.input_name: rec_blob(piece, self.settings)})[0][0]
            offset = i * piece_width * to_crop
            chars = self.reader.decode(probs, piece_width / probs.shape[0] * to_crop, crop.shape[1] - offset)
            for char in chars:  # concatenated with nothing between the pieces (cpp L217-227)
                char.x0, char.x1 = char.x0 + offset, char.x1 + offset
                line.chars.append(char)
        return finish_line(line)
