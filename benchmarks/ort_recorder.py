"""Time (and optionally keep) every onnxruntime `InferenceSession.run` call of
this process, per model file. Only needs onnxruntime, so the peers' scripts in
their own environments use it too."""
import os
import time
from collections import defaultdict

import onnxruntime


class OrtRecorder:
    def __init__(self, keep_feeds=False):
        self.keep_feeds = keep_feeds
        self.seconds = defaultdict(float)  # model name -> seconds inside session.run
        self.calls = defaultdict(int)
        self.feeds = []  # (session, output names, feed dict) when keep_feeds

    def install(self):
        original = onnxruntime.InferenceSession.run
        recorder = self

        def run(session, output_names, input_feed, run_options=None):
            start = time.perf_counter()
            result = original(session, output_names, input_feed, run_options)
            name = model_name(session)
            recorder.seconds[name] += time.perf_counter() - start
            recorder.calls[name] += 1
            if recorder.keep_feeds:
                recorder.feeds.append((session, output_names, input_feed))
            return result

        onnxruntime.InferenceSession.run = run
        self._original = original
        return self

    def replay(self, repeats=1):
        """({model: wall seconds}, {model: CPU seconds}): session.run alone on
        the kept feeds, each the fastest of `repeats` runs (the pure
        inference floor; CPU time counts all of onnxruntime's threads)."""
        wall, cpu = defaultdict(float), defaultdict(float)
        for session, output_names, feed in self.feeds:
            best_wall = best_cpu = float('inf')
            for _ in range(max(1, repeats)):
                start, start_cpu = time.perf_counter(), time.process_time()
                self._original(session, output_names, feed)
                best_wall = min(best_wall, time.perf_counter() - start)
                best_cpu = min(best_cpu, time.process_time() - start_cpu)
            wall[model_name(session)] += best_wall
            cpu[model_name(session)] += best_cpu
        return dict(wall), dict(cpu)


def model_name(session):
    return os.path.basename(getattr(session, '_model_path', None) or 'model')
