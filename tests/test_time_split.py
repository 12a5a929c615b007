"""benchmarks/time_split.py: every stage it names still exists in the
package (a rename would silently move its time to 'other'), and nested
stages are counted once each (exclusive time)."""
import subprocess
import sys
import textwrap
import time
import types

from benchmarks.time_split import STAGES, StageTimer


def test_every_stage_function_exists():
    code = textwrap.dedent('''
        import ocrd_ppocr.cli  # the processors' modules, as the bench loads them
        from benchmarks.time_split import StageTimer
        print(StageTimer().install().missing)
    ''')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]', out.stdout + out.stderr
    assert len({target for _, target in STAGES}) == len(STAGES)


def test_nested_stages_are_exclusive(monkeypatch):
    module = types.ModuleType('toy_stages')

    def inner():
        time.sleep(0.05)

    def outer():
        time.sleep(0.05)
        module.inner()

    module.inner, module.outer = inner, outer
    monkeypatch.setitem(sys.modules, 'toy_stages', module)
    timer = StageTimer([('a', 'toy_stages:outer'), ('b', 'toy_stages:inner')])
    import onnxruntime
    monkeypatch.setattr(onnxruntime.InferenceSession, 'run', onnxruntime.InferenceSession.run)
    timer.install()
    module.outer()
    assert 0.045 < timer.seconds['a'] < 0.09
    assert 0.045 < timer.seconds['b'] < 0.09
    split = timer.split(1.0)
    assert abs(sum(split.values()) - 1.0) < 1e-9 and split['other'] > 0.8
