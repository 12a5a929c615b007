"""The short report written beside a trained model: JSON, and a plot of
validation CER per epoch as PNG (drawn with OpenCV, already a dependency)."""
import json

import cv2
import numpy as np


def write_report(path, report):
    with open(path, 'w', encoding='utf-8') as out:
        json.dump(report, out, indent=1, ensure_ascii=False)
        out.write('\n')


def plot_cer(path, epochs, title):
    """Validation CER (%) over epochs; epoch 0 is the base model."""
    width, height, left, bottom, top, right = 640, 400, 70, 50, 40, 20
    image = np.full((height, width, 3), 255, np.uint8)
    xs = [e['epoch'] for e in epochs]
    ys = [100 * e['val_cer'] for e in epochs]
    x_max, y_max = max(max(xs), 1), max(max(ys) * 1.1, 0.1)

    def point(x, y):
        return (int(left + (width - left - right) * x / x_max),
                int(height - bottom - (height - top - bottom) * y / y_max))

    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.line(image, point(0, 0), point(x_max, 0), (0, 0, 0), 1)
    cv2.line(image, point(0, 0), point(0, y_max), (0, 0, 0), 1)
    for k in range(5):
        y = y_max * k / 4
        cv2.putText(image, f'{y:.1f}', (5, point(0, y)[1] + 4), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for x in xs:
        cv2.putText(image, str(x), (point(x, 0)[0] - 4, height - bottom + 18), font, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
    cv2.polylines(image, [np.array([point(x, y) for x, y in zip(xs, ys)], np.int32)], False, (200, 60, 0), 2,
                  cv2.LINE_AA)
    for x, y in zip(xs, ys):
        cv2.circle(image, point(x, y), 3, (200, 60, 0), -1, cv2.LINE_AA)
    cv2.putText(image, title, (left, 25), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, 'epoch', (width // 2, height - 10), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, 'CER %', (5, 25), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), image)
