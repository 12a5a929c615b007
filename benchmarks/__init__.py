"""Accuracy and speed benchmark of ocrd_ppocr against its peers on real
ground truth (`python -m benchmarks.run --help`; `make bench`)."""
