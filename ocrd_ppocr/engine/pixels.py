"""Pixel formats shared by the engine's models."""
import cv2


def as_bgr(image):
    """A uint8 grey (h, w) image as BGR (h, w, 3), its three channels equal;
    a BGR image as it is. Grey pages stay one channel as long as they can
    (detection, ink, cropping) and get their channels where a model needs them."""
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


def as_grey(image):
    """A uint8 BGR (h, w, 3) image as grey (h, w); a grey image as it is."""
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
