"""CI fails when a test that should run is skipped (tests/ci_skips.py, CI=true
as .ci/run sets it): a skip by pytest.skip or a skipif mark, a module skipped
by importorskip (torch missing); only the listed skips pass. Run on small
test files in a temporary folder."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
FILES = {
    'test_skip.py': 'import pytest\n\ndef test_runs():\n    pass\n\ndef test_no_data():\n    pytest.skip("no data")\n',
    'test_import.py': 'import pytest\ntorch = pytest.importorskip("no_such_module_ci")\n\ndef test_x():\n    pass\n',
    'tests/test_resources.py': ('import pytest\n\n@pytest.mark.skipif(True, reason="offline")\n'
                                'def test_url_answers():\n    pass\n\n'
                                '@pytest.mark.xfail(reason="known")\ndef test_known():\n    assert 0\n'),
}


def pytest_in(folder, name, ci):
    env = {**os.environ, 'PYTHONPATH': str(TESTS)}
    env.pop('CI', None)
    if ci:
        env['CI'] = 'true'
    return subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'ci_skips', '-p', 'no:cacheprovider', name],
                          cwd=folder, env=env, capture_output=True, text=True)


@pytest.fixture
def folder(tmp_path):
    (tmp_path / 'pytest.ini').write_text('[pytest]\n')  # node IDs relative to this folder
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize('name', ['test_skip.py', 'test_import.py'])
def test_a_skip_fails_under_ci_only(folder, name):
    result = pytest_in(folder, name, ci=False)
    assert result.returncode in (0, 5) and '1 skipped' in result.stdout  # 5: nothing left to run, not a failure
    result = pytest_in(folder, name, ci=True)
    assert result.returncode not in (0, 5) and 'skipped under CI' in result.stdout, result.stdout


def test_listed_skips_and_xfail_pass_under_ci(folder):
    result = pytest_in(folder, 'tests/test_resources.py', ci=True)
    assert result.returncode == 0 and '1 skipped' in result.stdout and '1 xfailed' in result.stdout, result.stdout


def test_ci_run_starts_from_empty_caches_with_ci_set():
    script = (TESTS.parent / '.ci' / 'run').read_text()
    assert 'export CI=true XDG_DATA_HOME="$CACHE/data"' in script and 'rm -rf "$CACHE"' in script
    assert 'WHEELS="$CACHE/wheels"' in script and "import torch" in script
