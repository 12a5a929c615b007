"""Run one of our processors in this process with every ONNX Runtime call
recorded, then replay the recorded inputs to get the pure inference time of
the same models on exactly the blobs the processor built (resized page for the
detector, line crops for the classifier and recogniser).

    python -m benchmarks.onnx_floor OUT.json REPEATS EXECUTABLE [processor args...]

OUT.json: {process_s, models: {model: {calls, in_run_s, pure_s, pure_cpu_s}}, pure_s, pure_cpu_s,
stages: {stage: seconds in process} (benchmarks.time_split), stages_unseen: [functions not found]}."""
import json
import sys
import time
from importlib.metadata import entry_points

from .ort_recorder import OrtRecorder
from .time_split import StageTimer


def main(out, repeats, executable, *args):
    recorder = OrtRecorder(keep_feeds=True).install()
    (entry,) = entry_points(group='console_scripts', name=executable)
    cli = entry.load()
    stages = StageTimer().install()  # after the processor's modules are imported
    start = time.perf_counter()
    try:
        cli.main(args=list(args), prog_name=executable, standalone_mode=False)
    except SystemExit as exit:
        if exit.code:
            raise
    process_s = time.perf_counter() - start
    pure, pure_cpu = recorder.replay(int(repeats))
    models = {name: {'calls': recorder.calls[name], 'in_run_s': recorder.seconds[name],
                     'pure_s': pure.get(name, 0.0), 'pure_cpu_s': pure_cpu.get(name, 0.0)}
              for name in recorder.calls}
    with open(out, 'w') as file:
        json.dump({'process_s': process_s, 'models': models, 'pure_s': sum(pure.values()),
                   'pure_cpu_s': sum(pure_cpu.values()), 'stages': stages.split(process_s),
                   'stages_unseen': stages.missing}, file, indent=1)


if __name__ == '__main__':
    main(*sys.argv[1:])
