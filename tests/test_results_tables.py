"""README's result tables are generated from the committed benchmark reports
(docs/results/*.json) by `python -m benchmarks.tables`: nobody edits them by
hand. Fast: no models, no processors."""
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # benchmarks/ is not an installed package

from benchmarks import tables  # noqa: E402


@pytest.mark.parametrize('name', sorted(tables.TABLES))
def test_readme_table_is_generated(name):
    readme = tables.README.read_text(encoding='utf-8')
    found = tables.marked(name).findall(readme)
    assert len(found) == 1, f'README.md needs exactly one <!-- results:{name}:begin/end --> pair'
    expected = tables.marked(name).search(tables.render_readme(readme)).group(0)
    assert tables.marked(name).search(readme).group(0) == expected, \
        f'README.md\'s {name} table differs from docs/results: run `make results-tables`'


def test_readme_outside_the_tables_is_left_alone():
    readme = tables.README.read_text(encoding='utf-8')
    assert tables.render_readme(readme) == readme, 'run `make results-tables`'


def test_results_index_is_generated():
    assert tables.INDEX.read_text(encoding='utf-8') == tables.render_index(), 'run `make results-tables`'


def test_every_report_has_its_markdown_twin():
    for report in tables.RESULTS.glob('*.json'):
        assert report.with_suffix('.md').exists(), f'{report.name} has no .md beside it'
