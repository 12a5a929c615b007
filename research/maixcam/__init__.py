"""The MaixCAM preset's research: the sensitivity scan that chose its float
blocks and percentile, the script that made its calibration set, and the
bootstrap interval of an INT8 - FP32 gap (also used by benchmarks/maixcam.py)."""
