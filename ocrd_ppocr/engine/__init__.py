"""The PP-OCR inference engine: numpy + onnxruntime + OpenCV, no OCR-D imports.

Each model role lives in its own module, each a small class built from a model
file with one method that takes an image and returns plain results in that
image's pixel coordinates. The OCR-D processors are thin adapters around it.
"""
