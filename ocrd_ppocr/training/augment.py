"""Augmentation of line images, as fits scanned print.

Each change is mild and applied with its own probability: the margin around
the line (recognition crops keep 0.4 line heights of it, GT line images often
none), a small rotation, horizontal scale, blur, noise, contrast, and
binarisation (many OCR-D workflows binarise before recognition).
"""
from dataclasses import dataclass

import cv2
import numpy as np

KINDS = ('margin', 'rotate', 'scale', 'blur', 'noise', 'contrast', 'binarise')


@dataclass
class Augmenter:
    kinds: tuple = KINDS
    probability: float = 0.5  # of each kind, independently

    def __call__(self, image, rng):
        for kind in self.kinds:
            if rng.random() < self.probability:
                image = getattr(self, kind)(image, rng)
        return image

    @staticmethod
    def margin(image, rng):
        height = image.shape[0]
        top, bottom, left, right = (int(round(height * rng.uniform(0, 0.4))) for _ in range(4))
        colour = [int(c) for c in np.median(np.concatenate([image[0], image[-1]]), axis=0)]
        return cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=colour)

    @staticmethod
    def rotate(image, rng):
        height, width = image.shape[:2]
        angle = rng.uniform(-1.0, 1.0)
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    @staticmethod
    def scale(image, rng):
        height, width = image.shape[:2]
        return cv2.resize(image, (max(2, int(width * rng.uniform(0.85, 1.15))), height),
                          interpolation=cv2.INTER_AREA)

    @staticmethod
    def blur(image, rng):
        return cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.0))

    @staticmethod
    def noise(image, rng):
        noise = rng.normal(0, rng.uniform(3, 12), image.shape[:2])[..., None]
        return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)

    @staticmethod
    def contrast(image, rng):
        alpha, beta = rng.uniform(0.7, 1.2), rng.uniform(-30, 30)
        return cv2.convertScaleAbs(image, alpha=alpha, beta=beta)

    @staticmethod
    def binarise(image, rng):
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        return cv2.cvtColor(binary, cv2.COLOR_GRAY2BGR)


def parse_kinds(text):
    """'all', 'none' or a comma-separated list of KINDS."""
    if text in ('', 'none'):
        return ()
    if text == 'all':
        return KINDS
    kinds = tuple(k.strip() for k in text.split(',') if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown augmentation {', '.join(unknown)}: choose from {', '.join(KINDS)}, all, none")
    return kinds
