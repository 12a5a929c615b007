"""The page error budget (benchmarks/budget.py) charges each kind of mistake
to its own part: a real GT page of kant (tests/data/kant) against an output
built from it with known mistakes."""
import importlib.util
from pathlib import Path

import pytest

from benchmarks.budget import CONVENTIONS, PARTS, page_budget, reading_order_of, recut

DATA = Path(__file__).parent / 'data'
SHARED_EVALUATE = Path(__file__).resolve().parents[2] / 'shared' / 'eval' / 'evaluate.py'


@pytest.fixture(scope='module')
def evaluate():
    """../shared/eval/evaluate.py, from its verbatim copy in tests/data/eval (tests run without ../shared)."""
    copy = DATA / 'eval' / 'evaluate.py'
    if SHARED_EVALUATE.exists():  # the copy must be the definition the benchmark imports
        assert copy.read_bytes() == SHARED_EVALUATE.read_bytes(), 'tests/data/eval/evaluate.py is out of date'
    spec = importlib.util.spec_from_file_location('evaluate_copy', copy)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def gt(evaluate):
    return evaluate.load(str(DATA / 'kant' / 'PAGE_0017_PAGE.xml'))


def box(*polygons):
    xs = [x for polygon in polygons for x, _ in polygon]
    ys = [y for polygon in polygons for _, y in polygon]
    return [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]


def test_the_gt_itself_costs_nothing(gt, evaluate):
    budget = page_budget(gt, gt, evaluate)
    assert budget['total'] == 0 and set(budget['errors'].values()) == {0}


def test_each_mistake_is_charged_to_its_part(gt, evaluate):
    texts = [text for _, text in gt]
    assert texts[13].endswith('an-') and texts[14].count('ſ') == 3 and texts[16][5] != 'x'
    out = list(gt)
    out[13] = (gt[13][0], texts[13][:-1] + '⸗')  # the Fraktur model's line-end mark where the GT has -
    out[14] = (gt[14][0], texts[14].replace('ſ', 's'))  # modern s for long s
    out[16] = (gt[16][0], texts[16][:5] + 'x' + texts[16][6:])  # one misread letter
    out[10] = (box(gt[10][0], gt[11][0]), texts[10] + ' ' + texts[11])  # two lines read as one
    del out[19], out[11]  # line 19 not found (11 is in the merged line)
    out[2], out[4] = out[4], out[2]  # two lines in each other's place
    out.insert(0, ([(100, 100), (400, 100), (400, 140), (100, 140)], '123'))  # a line the GT does not have

    budget = page_budget(gt, out, evaluate)
    errors = budget['errors']
    assert errors['not_in_gt'] == len('123\n')
    assert errors['not_found'] == len(texts[19]) + 1
    assert errors['split_merged'] == 1  # a space where the GT breaks the line
    assert 0 < errors['reading_order'] <= len(texts[2]) + len(texts[4]) + 2
    assert errors['hyphens'] == 1 and errors['long_s'] == 3 and errors['recognition'] == 1
    assert all(errors[part] == 0 for part in ('dashes', 'quotes', 'combining_e', 'r_rotunda'))
    assert sum(errors.values()) == budget['total']
    assert budget['total'] / budget['length'] == pytest.approx(budget['page_CER'])
    assert budget['lines'] == {'not_in_gt': 1, 'not_found': 1, 'split_merged_groups': 1,
                               'matched': len(gt) - 3}


def test_a_split_line_is_charged_to_split_merged(gt, evaluate):
    (x0, y0), (x1, _), (_, y1), _ = box(gt[15][0])
    middle, text = (x0 + x1) / 2, gt[15][1]
    cut = text.index(' ', len(text) // 2)
    out = gt[:15] + [([(x0, y0), (middle, y0), (middle, y1), (x0, y1)], text[:cut]),
                     ([(middle, y0), (x1, y0), (x1, y1), (middle, y1)], text[cut + 1:])] + gt[16:]
    errors = page_budget(gt, out, evaluate)['errors']
    assert errors['split_merged'] == 1 and sum(errors.values()) == 1


def test_recut_follows_the_gt_line_breaks():
    assert recut(['Aufklärung iſt der', 'Ausgang des'], 'Aufklärung ist der Ausgang dcs') == \
        ['Aufklärung ist der', 'Ausgang dcs']
    assert recut(['a', 'b', 'c'], 'ab') == ['a', 'b', '']


def test_every_part_has_a_column():
    assert PARTS[-1] == 'recognition' and len(set(PARTS)) == len(PARTS)


def test_lines_the_gt_file_stores_out_of_order_are_charged_to_gt_order(evaluate):
    """bebel 0146's GT file stores a line of its first region after lines of
    later ones: an output in reading order pays for it, under gt_order alone."""
    path = DATA / 'bebel' / 'bebel_frau_1879_0146.xml'
    gt = evaluate.load(str(path))
    order = reading_order_of(gt, path, evaluate)
    assert order != sorted(order)
    in_reading_order = [gt[i] for i in sorted(range(len(gt)), key=order.__getitem__)]
    budget = page_budget(gt, in_reading_order, evaluate, order)
    assert budget['total'] > 0 and budget['errors']['gt_order'] == budget['total']
    shuffled = in_reading_order[1:] + in_reading_order[:1]  # and our own order mistake is ours
    errors = page_budget(gt, shuffled, evaluate, order)['errors']
    assert errors['reading_order'] > 0 and errors['gt_order'] == budget['total']


def test_conventions_map_each_spelling_to_one():
    normalise = dict((key, function) for key, _, function in CONVENTIONS)
    assert normalise['hyphens']('Auf⸗') == normalise['hyphens']('Auf—') == 'Auf-'
    assert normalise['hyphens']('1784 —') == '1784 —'  # a dash after a space splits no word
    assert normalise['combining_e']('Saͤchs. \ue42c \ue644 \ue72b') == 'Sächs. ä ö ü'
    assert normalise['quotes']('„Wort“ »so«') == '"Wort" "so"'
