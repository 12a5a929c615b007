"""Under CI (CI=true, as .ci/run sets it) a skipped test is a failure: a test
that cannot run because torch, a model or a data file is missing hides a gap.
Only the skips listed in ALLOWED may happen, each with why. Loaded by
conftest.py (pytest hooks), or alone with `pytest -p ci_skips`."""
import os

import pytest

# test node ID prefix -> why it may skip on CI
ALLOWED = {
    'tests/test_resources.py::test_url_answers': 'asks the resource URLs online: only with OCRD_PPOCR_ONLINE_TESTS '
                                                 '(CI has no network guarantee)',
}


def _under_ci():
    return os.environ.get('CI', '').lower() in ('true', '1', 'yes')


def _allowed(nodeid):
    return any(nodeid.startswith(prefix) for prefix in ALLOWED)


def _fail(report, nodeid):
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = 'failed'
    report.longrepr = f'{nodeid} skipped under CI ({reason}): a test that should run did not (tests/ci_skips.py)'


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module skipped at import (pytest.importorskip('torch'))."""
    outcome = yield
    report = outcome.get_result()
    if _under_ci() and report.skipped and not _allowed(report.nodeid):
        _fail(report, report.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test skipped by a mark or by pytest.skip (xfail is not a skip)."""
    outcome = yield
    report = outcome.get_result()
    if _under_ci() and report.skipped and not hasattr(report, 'wasxfail') and not _allowed(report.nodeid):
        _fail(report, report.nodeid)
