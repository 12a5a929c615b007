"""What the benchmark ran on: CPU, memory, load, the versions of our stack
and the git commit of the checkout."""
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_model():
    try:
        with open('/proc/cpuinfo') as file:
            for line in file:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown CPU'


def describe():
    memory = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30
    load = ', '.join(f'{x:.1f}' for x in os.getloadavg())
    return f'{os.cpu_count()} CPUs ({cpu_model()}), {memory:.0f} GiB RAM, load average at start {load}'


def _version(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return 'not installed'


def git_commit():
    """The checkout's commit, with '+changes' where tracked files differ from it ('unknown' outside git)."""
    try:
        commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=REPO, capture_output=True, text=True, check=True)
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], cwd=REPO,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'
    return commit.stdout.strip() + ('+changes' if dirty.stdout.strip() else '')


def our_versions():
    """Versions every report records: our package, its stack, Python, and the commit."""
    versions = {name: _version(name) for name in ('ocrd_ppocr', 'ocrd', 'onnxruntime', 'onnx',
                                                  'opencv-python-headless', 'numpy')}
    return {**versions, 'python': platform.python_version(), 'commit': git_commit()}


def provenance(command):
    """What every report records: the command, when, the machine, the versions and the commit."""
    import time
    return {'command': command, 'started': time.strftime('%Y-%m-%d %H:%M'), 'machine': describe(),
            'versions': our_versions()}


def provenance_markdown(report):
    """The report's header lines for its provenance."""
    return [f"Command: `{report['command']}` ({report['started']})", '', f"Machine: {report['machine']}", '',
            'Versions: ' + ', '.join(f'{k} {v}' for k, v in report['versions'].items()), '']
