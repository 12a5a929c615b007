"""Cutting text lines out of a page image for recognition.

Behaviour follows PaddleOCR's get_rotate_crop_image: the minimum-area
rectangle of the line's polygon is perspective-warped to an upright crop, and a
crop much taller than wide is taken for vertical text and turned by 90°.
On top of that, pixels outside the polygon are painted background (so that
neighbouring lines in a tilted or curved rectangle do not leak into the
reading) and a margin is kept around the polygon (tight GT polygons otherwise
clip ascenders and descenders, which PP-OCR, trained on padded detector boxes,
reads worse).

Every crop carries the 3x3 transform from its pixel coordinates back to the
page image, so that character positions found in the crop can be placed on
the page.
"""
from typing import NamedTuple

import cv2
import numpy as np

from .pixels import as_bgr

VERTICAL_RATIO = 1.5  # height / width above which a crop is taken for vertical text (as PaddleOCR)
# Padding around a line polygon, as a fraction of its height. CER of PP-OCRv6
# small on the 164 GT lines of bebel_frau_1879 (tight GT polygons, masked):
# 0.2: 0.65 %, 0.3: 0.61 %, 0.4: 0.54 %, 0.5: 0.73 %, 0.6: 0.86 %.
MARGIN = 0.4


class LineCrop(NamedTuple):
    image: np.ndarray  # uint8 BGR, upright text line
    transform: np.ndarray  # 3x3 float64: crop (x, y, 1) -> image (x, y, w)
    inner: tuple = None  # (x0, x1): where the polygon itself lies in the crop, margins excluded
    pad: float = 0.0  # pixels of margin added on every side of the polygon's rectangle

    def to_image(self, points):
        """Map (N, 2) crop pixel coordinates to (N, 2) image coordinates."""
        return apply_transform(self.transform, points)

    def rotated_180(self):
        """The same crop turned upside down (after a 0/180° classifier said so),
        with its transform updated."""
        height, width = self.image.shape[:2]
        # crop pixel (x, y) of the turned image was (w - x, h - y) before
        turn = np.array([[-1, 0, width], [0, -1, height], [0, 0, 1]], dtype=np.float64)
        inner = (width - self.inner[1], width - self.inner[0]) if self.inner else None
        return LineCrop(np.ascontiguousarray(self.image[::-1, ::-1]), self.transform @ turn, inner, self.pad)

    def with_margin(self, margin):
        """The crop's image with less margin above and below: `margin` (a
        fraction of the line's height, as crop_polygon's) where the crop has
        more; columns are kept, so x positions read in it are the crop's.
        A recogniser trained on tight line images reads a line squeezed into
        48 rows by a wide margin with too few CTC frames for its letters."""
        height = self.image.shape[0]
        keep = margin * max(height - 2 * self.pad, 1)
        cut = int(self.pad - keep)
        if cut <= 0 or height - 2 * cut < 2:
            return self.image
        return self.image[cut:height - cut]

    def clamp_span(self, x0, x1):
        """The crop span (x0, x1) moved inside the polygon's extent, at least a
        pixel wide: CTC frames are coarse, and a glyph read in the margin still
        belongs to the line."""
        low, high = self.inner or (0, self.image.shape[1])
        x0 = min(max(x0, low), high - 1)
        return x0, max(min(x1, high), x0 + 1)


def image_of(crop):
    """The pixels of a LineCrop, or `crop` itself if it is an image already."""
    return crop.image if isinstance(crop, LineCrop) else crop


def apply_transform(transform, points):
    """Apply a 3x3 (projective) or 2x3 (affine) transform to (N, 2) points."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    transform = np.asarray(transform, dtype=np.float64)
    if transform.shape == (2, 3):
        transform = np.vstack([transform, [0, 0, 1]])
    homogeneous = np.hstack([points, np.ones((len(points), 1))]) @ transform.T
    return homogeneous[:, :2] / homogeneous[:, 2:3]


def ordered_box(points):
    """Corners of the minimum-area rectangle of `points`: top-left, top-right,
    bottom-right, bottom-left (left pair and right pair split by x, as PaddleOCR)."""
    corners = cv2.boxPoints(cv2.minAreaRect(np.asarray(points, dtype=np.float32)))
    corners = corners[np.argsort(corners[:, 0], kind='stable')]
    left = corners[:2][np.argsort(corners[:2, 1], kind='stable')]
    right = corners[2:][np.argsort(corners[2:, 1], kind='stable')]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def grow_box(box, pad):
    """Move every side of the rectangle `box` (tl, tr, br, bl) outwards by `pad` pixels."""
    along = box[1] - box[0]
    across = box[3] - box[0]
    along = along / max(np.linalg.norm(along), 1e-6) * pad
    across = across / max(np.linalg.norm(across), 1e-6) * pad
    return np.array([box[0] - along - across, box[1] + along - across,
                     box[2] + along + across, box[3] - along + across], dtype=np.float32)


def background_colour(image):
    """Per-channel median of the crop's outermost rows and columns: the paper,
    unless text touches the border everywhere (then white). One value per
    channel (one for a grey crop)."""
    channels = image.shape[2] if image.ndim == 3 else 1
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).reshape(-1, channels)
    colour = np.median(border, axis=0)
    if np.mean(colour) < 64:  # border is mostly ink: guess paper instead of painting it black
        return np.full(channels, 255, dtype=np.uint8)
    return colour.astype(np.uint8)


def crop_polygon(image, points, mask=True, margin=MARGIN):
    """Cut the text line with polygon `points` ((N, 2), image pixels) out of
    `image` (uint8 BGR, or grey) as an upright crop; returns a LineCrop
    (BGR image, transform).

    `margin` is the padding on every side, as a fraction of the rectangle's
    short side. With `mask`, pixels farther than a hair outside the polygon
    become background colour. A grey page is cut and masked as it is and
    the crop given its three (equal) channels last: the same pixels as from
    the page in BGR, at a third of the work."""
    points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    box = ordered_box(points)
    width = max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3]))
    height = max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2]))
    pad = margin * min(width, height)
    box = grow_box(box, pad)
    width, height = int(round(width + 2 * pad)), int(round(height + 2 * pad))
    width, height = max(width, 1), max(height, 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    forward = cv2.getPerspectiveTransform(box, target)
    crop = cv2.warpPerspective(image, forward, (width, height),
                               flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    if mask:
        crop = _mask_outside(crop, apply_transform(forward, points), pad)
    crop = as_bgr(crop)
    transform = np.linalg.inv(forward)
    if height >= VERTICAL_RATIO * width:
        # vertical text: np.rot90 turns counter-clockwise; crop pixel (x, y) of
        # the turned image was (width - y, x) before
        crop = np.ascontiguousarray(np.rot90(crop))
        transform = transform @ np.array([[0, -1, width], [1, 0, 0], [0, 0, 1]], dtype=np.float64)
    inside = apply_transform(np.linalg.inv(transform), points)[:, 0]
    return LineCrop(crop, transform, (float(inside.min()), float(inside.max())), pad)


def _mask_outside(crop, polygon, pad):
    """Paint the crop outside `polygon` (crop coordinates), grown by a little of
    the margin to keep anti-aliased glyph edges, with the background colour."""
    inside = np.zeros(crop.shape[:2], dtype=np.uint8)
    outline = [np.round(polygon).astype(np.int32)]
    cv2.fillPoly(inside, outline, 255)
    grow = int(round(pad / 4))
    if grow > 0:
        # a thick outline with round joins grows the polygon by a disc, as a
        # dilation would, at a fraction of its cost
        cv2.polylines(inside, outline, True, 255, thickness=2 * grow + 1)
    # the crop where inside, zero elsewhere, then the background colour added
    # where outside: two OpenCV passes, several times faster than building a
    # background image or assigning through a boolean mask in numpy
    result = cv2.bitwise_and(crop, crop, mask=inside)
    colour = tuple(int(c) for c in background_colour(crop)) + (0,) * (4 - (crop.shape[2] if crop.ndim == 3 else 1))
    return cv2.add(result, colour, dst=result, mask=cv2.bitwise_not(inside))
