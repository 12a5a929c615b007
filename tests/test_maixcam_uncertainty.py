"""The interval of an INT8 - FP32 gap (the MaixCAM bench, the sensitivity scan)."""
import pytest

from research.maixcam.uncertainty import gap_interval


def test_the_interval_is_the_gap_when_every_page_has_the_same_gap():
    fp32 = [(10, 100), (50, 200), (3, 50)]
    int8 = [(12, 100), (54, 200), (4, 50)]  # +2 % on every page
    low, high = gap_interval(fp32, int8)
    assert low == pytest.approx(2.0) and high == pytest.approx(2.0)


def test_pages_are_paired_so_hard_pages_do_not_widen_the_interval():
    # FP32 errors differ wildly between pages, INT8 adds 1 % to each: the
    # gap is certain although the CERs are not
    fp32 = [(1, 100), (90, 100), (40, 100), (5, 100)]
    int8 = [(2, 100), (91, 100), (41, 100), (6, 100)]
    assert gap_interval(fp32, int8) == pytest.approx((1.0, 1.0))


def test_a_gap_from_one_page_gives_a_wide_interval_around_it():
    fp32 = [(10, 100)] * 4
    int8 = [(10, 100)] * 3 + [(18, 100)]  # the set's +2 % comes from one page
    low, high = gap_interval(fp32, int8)
    assert low == pytest.approx(0.0) and high > 4.0
    assert low < 2.0 < high
