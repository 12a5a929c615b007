"""The data sets the benchmark reads: where each comes from and what it was
used for (tuning, threshold choice, model selection, training, ...), from
benchmarks/sets.json, the one record the bench's and README's labels are made
from; and the check that they are there (the bench fetches nothing)."""
import json
from pathlib import Path

RECORD = Path(__file__).with_name('sets.json')
SETS = json.loads(RECORD.read_text(encoding='utf-8'))['sets']
# uses after which a set's figures still say how we do on material nothing was chosen on
INDEPENDENT = {'never', 'regression check'}
# the sets each bench section reads
SECTION_SETS = {
    'systems': ['bebel_frau_1879', 'kant_aufklaerung_1784'],
    'same-crop': ['bebel_frau_1879'], 'batch': ['bebel_frau_1879', 'kant_aufklaerung_1784'],
    'fraktur': ['fraktur_lines/val', 'clauren_mimil_1815', 'laube_europa0202_1837', 'kant_aufklaerung_1784',
                'bebel_frau_1879'],
    'unseen': ['oldbooks_en', 'tesseract_testing'],
    'maixcam': ['tesseract_testing', 'oldbooks_en', 'docbank_samples', 'clauren_mimil_1815',
                'laube_europa0202_1837'],
    'words': ['kant_aufklaerung_1784', 'bebel_frau_1879'], 'huge-page': ['bebel_frau_1879'],
    'scaling': ['bebel_frau_1879'], 'long-run': ['bebel_frau_1879'],
}


def record(name):
    """The record of a set by name, or of the set a row label starts with ('bebel_frau_1879 GT lines')."""
    if name in SETS:
        return SETS[name]
    return SETS.get(name.split()[0].rstrip(','))


def is_independent(name):
    """True where nothing (no default, threshold, model or training) was chosen on the set."""
    entry = record(name)
    return bool(entry) and set(entry['used_for']) <= INDEPENDENT


def label(name):
    """'laube_europa0202_1837 (threshold choice, regression check: its watermark motivated ...)'."""
    entry = record(name)
    return f"{name} ({', '.join(entry['used_for'])}: {entry['how']})" if entry else name


def labels(names):
    """The labels of several sets, one per line (a Markdown list)."""
    return '\n'.join(f'- {label(name)}' for name in names)


def missing(data, names):
    """The sets of `names` that are not under the data folder `data`."""
    return [name for name in dict.fromkeys(names) if not (Path(data) / SETS[name]['path']).exists()]


def require(data, sections):
    """Exit with one line naming what is missing and where to get it, unless every
    set the bench `sections` read is under `data`."""
    absent = missing(data, [name for section in sections for name in SECTION_SETS.get(section, [])])
    if absent:
        sources = '; '.join(f"{name}: {SETS[name]['source']}" for name in absent)
        raise SystemExit(f'benchmark data not found in {data}: {", ".join(absent)}. The bench downloads no data: '
                         f'give --data DIR (or BENCH_DATA=DIR) holding them as benchmarks/README.md lays out '
                         f'(sources: {sources}).')


def main(argv=None):
    """`python -m benchmarks.sets [bench options]`: the data check alone, before `make bench` installs anything."""
    import argparse
    import os
    parser = argparse.ArgumentParser(prog='python -m benchmarks.sets', description=main.__doc__)
    parser.add_argument('--data', default=os.environ.get('BENCH_DATA', str(Path(__file__).resolve().parents[2]
                                                                         / 'shared' / 'data')))
    parser.add_argument('--sections', default=','.join(SECTION_SETS))
    parser.add_argument('--workspace')
    args, _ = parser.parse_known_args(argv)  # the bench's other options are the bench's
    if not args.workspace:
        require(args.data, args.sections.split(','))


if __name__ == '__main__':
    main()
