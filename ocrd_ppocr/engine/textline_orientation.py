"""Text-line orientation: is a line crop upright (0°) or upside down (180°)?

For PaddleOCR's line classifiers (ch_ppocr_mobile_v2.0_cls, PP-LCNet
textline_ori): each crop is resized to height 48 keeping its aspect ratio
(width at most 192), normalised to [-1, 1] and padded on the right with zeros
into a 3x48x192 batch; the output is a softmax over (0°, 180°).
"""
import math

import cv2
import numpy as np

from .pixels import as_bgr
from .session import ModelError, load_session

HEIGHT, WIDTH = 48, 192
ANGLES = (0, 180)


def check_classifier(session, path='model'):
    """Reject a file that is not a two-class line classifier (Nx3xHxW -> Nx2)."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    ok = (len(inputs) == 1 and len(inputs[0].shape) == 4 and inputs[0].shape[1] == 3
          and len(outputs) == 1 and len(outputs[0].shape) == 2 and outputs[0].shape[1] == 2)
    if not ok:
        raise ModelError(f'{path} is not a 0/180° text-line orientation model (expected input '
                         f'Nx3xHxW and output Nx2, found {[i.shape for i in inputs]} -> '
                         f'{[o.shape for o in outputs]})')


def normalise_fixed(crop_bgr, height=HEIGHT, width=WIDTH):
    """uint8 BGR crop -> float32 3 x height x width: aspect kept, right-padded with 0."""
    crop_bgr = as_bgr(crop_bgr)
    h, w = crop_bgr.shape[:2]
    resized_w = min(width, max(1, int(math.ceil(height * w / max(h, 1)))))
    resized = cv2.resize(crop_bgr, (resized_w, height), interpolation=cv2.INTER_LINEAR)
    blob = np.zeros((3, height, width), dtype=np.float32)
    blob[:, :, :resized_w] = (resized.astype(np.float32).transpose(2, 0, 1) / 255 - 0.5) / 0.5
    return blob


class TextlineOrientation:
    """A 0/180° line classifier built from an ONNX file."""

    def __init__(self, model_path, threads=0, device='cpu', batch_size=8):
        self.session = load_session(model_path, threads, device)
        check_classifier(self.session, model_path)
        self.input_name = self.session.get_inputs()[0].name
        self.batch_size = max(1, int(batch_size))

    def classify(self, crops):
        """[(angle 0 or 180, confidence)] for each uint8 BGR crop."""
        results = []
        for start in range(0, len(crops), self.batch_size):
            batch = np.stack([normalise_fixed(crop) for crop in crops[start:start + self.batch_size]])
            probs = self.session.run(None, {self.input_name: batch})[0]
            for row in probs:
                label = int(np.argmax(row))
                results.append((ANGLES[label], float(row[label])))
        return results

    def upright(self, crops, threshold=0.9):
        """The crops, each turned by 180° where the classifier says so with at
        least `threshold` confidence (PaddleOCR's cls_thresh), and the angles
        applied (0 or 180). Crops may be arrays or LineCrops (which keep their
        transform up to date)."""
        images = [getattr(crop, 'image', crop) for crop in crops]
        turned, angles = [], []
        for crop, (angle, conf) in zip(crops, self.classify(images)):
            if angle == 180 and conf >= threshold:
                crop = crop.rotated_180() if hasattr(crop, 'rotated_180') else crop[::-1, ::-1].copy()
                angles.append(180)
            else:
                angles.append(0)
            turned.append(crop)
        return turned, angles
