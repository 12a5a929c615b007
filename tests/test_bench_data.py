"""`make bench` in a fresh clone (no ../shared/data): the bench downloads no
data, so it stops at once with one line naming the sets and where to get
them, and a non-zero exit; where the sets are there, the check lets it run."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # benchmarks/ is not an installed package

from benchmarks import sets  # noqa: E402


@pytest.mark.parametrize('module', ['benchmarks.sets', 'benchmarks.run'])
def test_missing_data_is_one_clear_line(module, tmp_path):
    env = {**os.environ, 'BENCH_DATA': str(tmp_path / 'absent')}
    result = subprocess.run([sys.executable, '-m', module, '--results', str(tmp_path / 'results')], cwd=REPO,
                            env=env, capture_output=True, text=True)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in result.stderr, result.stderr
    for needed in ('bebel_frau_1879', 'kant_aufklaerung_1784', 'OCR-D/gt_structure_text@379f597a', 'OCR-D/assets',
                   '--data', 'BENCH_DATA'):
        assert needed in lines[0]
    assert not (tmp_path / 'results').exists()  # stopped before writing anything


def test_the_sets_a_section_reads_are_all_it_asks_for(tmp_path):
    for name in sets.SECTION_SETS['systems']:
        (tmp_path / sets.SETS[name]['path']).mkdir(parents=True)
    sets.require(tmp_path, ['systems'])  # nothing missing: no exit
    with pytest.raises(SystemExit, match='oldbooks_en: PedroBarcha/old-books-dataset@9a0378e1'):
        sets.require(tmp_path, ['unseen'])
