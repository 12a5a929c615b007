"""What the benchmark ran on: CPU, memory, load, and the versions of our stack."""
import os
from importlib.metadata import version


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


def our_versions():
    return {name: version(name) for name in ('ocrd_ppocr', 'ocrd', 'onnxruntime', 'opencv-python-headless', 'numpy')}
