"""NOTICE carries the attributions the CC BY sources require, and the wheel
gets it (setup.cfg license_files; checked once with pip wheel: it lands in
dist-info/licenses/)."""
import configparser
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_notice_credits_every_cc_by_source_and_ships_in_the_wheel():
    notice = (REPO / 'NOTICE').read_text(encoding='utf-8')
    for credit in ('archiscribe', 'Johannes Baiter', 'GT4HistOCR', 'Springmann, Christian Reul, Stefanie Dipper',
                   'maixcam/calibration', 'RapidOCR', 'UVDoc', 'CC BY 4.0'):
        assert credit in notice, credit
    setup = configparser.ConfigParser()
    setup.read(REPO / 'setup.cfg')
    assert 'NOTICE' in setup['metadata']['license_files'].split()
