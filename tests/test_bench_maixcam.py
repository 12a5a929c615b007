"""How the MaixCAM bench turns the station's boxes into page lines and how it
compares two readings (benchmarks/maixcam.py). Fast: no models."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not an installed package

from benchmarks.maixcam import differs, finish, page_lines  # noqa: E402


def box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def test_boxes_of_one_line_are_joined_left_to_right_and_lines_go_top_down():
    # the station reports boxes per frame and in no order: a line cut by a
    # frame border comes as two boxes, the right one possibly first
    polygons = [box(300, 102, 500, 128), box(10, 40, 280, 66), box(10, 100, 290, 126), box(10, 160, 200, 186)]
    texts = ['frame.', 'First line', 'Second line cut at the', ' Third ']
    assert page_lines(polygons, texts) == ['First line', 'Second line cut at the frame.', 'Third']


def test_boxes_read_as_nothing_are_left_out():
    assert page_lines([box(0, 0, 50, 20), box(0, 40, 50, 60)], ['  ', 'text']) == ['text']
    assert page_lines([], []) == []


def test_differs_counts_edits_against_the_reference_characters():
    assert differs(['abcd', 'xy'], ['abcd', 'xy']) == 0
    assert differs(['abXd', 'x'], ['abcd', 'xy']) == pytest.approx(100 * 2 / 6)


def test_the_agreement_column_names_both_cvimodels_where_both_were_run():
    row = {'maixcam-fp32': {'page_CER': 10.0}, 'maixcam': {'page_CER': 11.0},
           'cvimodel': {'sample': '2 pages, 41 boxes, 79 pieces', 'CER': 12.0, 'x86_CER': 11.5, 'x86_differs': 3.0},
           'det_cvimodel': {'frames': 18, 'boxes_cvimodel': 109, 'boxes_x86': 111, 'box_F1': 99.1, 'map_IoU': 96.8}}
    agreement = finish(row, 'page_CER')['cvimodel_vs_x86']
    assert agreement.startswith('rec, 2 pages, 41 boxes, 79 pieces: 12.00 / 11.50 (-0.50); x86 differs 3.00; det, ')
    assert finish({'maixcam-fp32': {'line_CER': 1.0}, 'maixcam': {'line_CER': 2.0}},
                  'line_CER')['cvimodel_vs_x86'] is None
