"""Fine-tuning a PP-OCR CTC recogniser on text lines.

One epoch: the training lines in batches of similar width (fewer padded
pixels), each line augmented, cut and normalised exactly as recognition
does (engine.recognize.line_blob); the front of the network runs in ONNX
Runtime, the trainable tail in PyTorch; CTC loss on the tail's logits.
Validation CER (as ../shared/eval/evaluate.py counts it on lines: edit
distance over GT characters, NFC, whitespace collapsed) before training and
after every epoch; the best epoch's weights are kept, training stops early
when validation has not improved for `patience` epochs, and every epoch's
state is checkpointed so an interrupted run resumes where it stopped.
"""
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..engine.recognize import MARGIN_KEY, MAX_WIDTH, MIN_WIDTH, TextRecognizer, input_width, line_blob
from .augment import KINDS, Augmenter
from ..cer import cer as text_cer
from .data import normalise
from .graph import SplitRecognizer
from .head import grow, missing_characters


@dataclass
class TrainOptions:
    epochs: int = 10
    batch_size: int = 8
    learning_rate: float = 5e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    trainable: str = 'neck'  # 'neck': the backbone stays frozen; 'stage': its last stage trains too; 'all'
    augment: tuple = KINDS
    augment_probability: float = 0.5
    patience: int = 3  # epochs without a better validation CER before stopping
    seed: int = 1
    threads: int = 0
    device: str = 'cpu'
    max_steps: int = 0  # stop after this many optimiser steps (0: no limit)
    eval_batch_size: int = 1
    stop_after_epoch: int = 0  # end this run after that epoch (resume later); 0: run to `epochs`
    # >0: train the CTC head with a sampled softmax: the logits of the GT's characters, of those the
    # base model confuses with them, and of this many other classes drawn at each step (0: all classes)
    class_sample: int = 0
    checkpoint: bool = True  # save the state after every epoch (for --resume)


@dataclass
class History:
    epochs: list = field(default_factory=list)  # {'epoch', 'val_cer', 'train_loss', 'val_loss', 'seconds', ...}
    best_epoch: int = 0
    best_cer: float = math.inf
    step: int = 0


def cer(pairs):
    """Character error rate of (ground truth, reading) pairs, as evaluate.py
    counts it on lines (the package's one CER), texts as training normalises them."""
    return text_cer(pairs, normalise)


class FeatureCache:
    """Backbone features of each training line in a few fixed versions (as
    it is, and `variants - 1` augmented ones), computed once and shared by
    all folds: with the backbone frozen, they are the same in every epoch and
    every fold, and the backbone is about half of a training step's cost on
    CPU. A training batch draws one version per line and pads the features
    to the widest with the backbone's features of blank padding."""

    def __init__(self, variants=5, seed=1):
        self.variants, self.seed = variants, seed
        self.net = self.augmenter = None
        self.store = {}  # id(line) -> [features {name: (1, C, H, W) tensor}] per version
        self.padding = None

    def attach(self, net, augmenter):
        if net.front is None or len(net.tail.inputs) != 1:
            raise ValueError('a feature cache needs a frozen backbone (trainable neck)')
        self.net, self.augmenter = net, augmenter
        if self.padding is None:
            blank = net.features(np.zeros((1, 3, 48, MIN_WIDTH), dtype=np.float32))
            self.padding = {name: value[..., value.shape[-1] // 2:value.shape[-1] // 2 + 1]
                            for name, value in blank.items()}

    def versions(self, line):
        key = id(line)
        if key not in self.store:
            rng = np.random.default_rng([self.seed, len(self.store)])
            images = [line.image] + [self.augmenter(line.image, rng) for _ in range(self.variants - 1)]
            versions = []
            for image in images:
                width = min(input_width(*image.shape[:2]), MAX_WIDTH)
                versions.append(self.net.features(line_blob([image], [width], max(MIN_WIDTH, width))))
            self.store[key] = versions
        return self.store[key]

    def batches(self, lines, size, rng):
        """[(indices, features)] in shuffled batches of similar width."""
        widths = [input_width(*line.image.shape[:2]) for line in lines]
        order = np.argsort(widths, kind='stable')
        chunks = [order[i:i + size] for i in range(0, len(order), size)]
        rng.shuffle(chunks)
        for chunk in chunks:
            chosen = [self.versions(lines[i])[rng.integers(self.variants)] for i in chunk]
            yield chunk, {name: self._stack([c[name] for c in chosen], self.padding[name])
                          for name in chosen[0]}

    @staticmethod
    def _stack(tensors, padding):
        width = max(t.shape[-1] for t in tensors)
        return torch.cat([torch.cat([t, padding.expand(*t.shape[:-1], width - t.shape[-1])], dim=-1)
                          for t in tensors])


def confusable_characters(recognizer, lines):
    """The characters `recognizer` reads among its top alternatives on `lines`."""
    return sorted({alternative for result in recognizer.recognize([line.image for line in lines])
                   for char in result.chars for alternative, _ in char.alternatives})


class Trainer:
    def __init__(self, base_model, train_lines, val_lines, options, dictionary=None, log=print, confusable=None,
                 texts=None, feature_cache=None):
        """`confusable`: characters the base model reads among its top alternatives on the
        training lines (for the sampled softmax), if known; else read here when needed.
        `texts`: the GT whose characters the dictionary must hold (default: the training
        lines'; the models of an ensemble share one dictionary).
        `feature_cache`: a FeatureCache (backbone features of fixed line versions, shared by
        the folds) to train from instead of augmenting and running the backbone every epoch."""
        self.options, self.log = options, log
        self.train_lines, self.val_lines = train_lines, val_lines
        torch.manual_seed(options.seed)
        if options.threads:
            torch.set_num_threads(options.threads)
        base = TextRecognizer(base_model, dictionary, threads=options.threads, top_k=3)
        # the margin the base reads line crops with (and ocrd-ppocr-train cut workspace lines with):
        # the trained model records it, so that recognition reads it alike
        self.reading_margin = base.margin
        labels = base.labels
        self.base_dictionary = labels[1:-1]
        self.net = SplitRecognizer(base_model, options.trainable, threads=options.threads)
        self.added = missing_characters(self.base_dictionary, texts or [line.text for line in train_lines])
        if self.added:
            weight_name, bias_name = self.net.classifier()
            weight, bias = grow(self.net.tail.parameter(weight_name).detach().numpy(),
                                self.net.tail.parameter(bias_name).detach().numpy(),
                                self.base_dictionary, self.added)
            self.net.tail.replace_parameter(weight_name, torch.from_numpy(weight))
            self.net.tail.replace_parameter(bias_name, torch.from_numpy(bias))
        self.dictionary = self.base_dictionary + self.added
        self.labels = [''] + self.dictionary + [' ']
        self.class_of = {char: i for i, char in enumerate(self.labels)}
        self.core_classes = None
        if options.class_sample:
            if confusable is None:
                confusable = confusable_characters(base, train_lines)
            wanted = {char for line in train_lines + val_lines for char in line.text} | set(confusable)
            self.core_classes = np.array(sorted({0, len(self.labels) - 1} | {self.class_of[c] for c in wanted
                                                                               if c in self.class_of}))
            self.net.tail.head = self.net.classifier()
        self.device = torch.device(options.device)
        self.net.tail.to(self.device)
        # foreach: one pass over all tensors per step (the ~2M-weight head of the big dictionaries
        # makes the optimiser step a sixth of a CPU training step)
        self.optimizer = torch.optim.AdamW(self.net.tail.parameters(), lr=options.learning_rate,
                                           weight_decay=options.weight_decay, foreach=True)
        self.augmenter = Augmenter(tuple(options.augment), options.augment_probability)
        self.history = History()
        self.best_state = None
        self.feature_cache = feature_cache
        if feature_cache is not None:
            feature_cache.attach(self.net, self.augmenter)

    # -- batches ---------------------------------------------------------------

    def batches(self, lines, rng=None, size=None):
        """[(indices, blob)] in batches of similar width; shuffled batches and
        augmented lines when `rng` is given (training), else in width order.
        Validation reads one line at a time by default, padded as the
        recogniser pads it (to at least 320 pixels), so its CER is the one
        ocrd-ppocr-recognize would have."""
        size = size or self.options.batch_size
        widths = [input_width(*line.image.shape[:2]) for line in lines]
        order = np.argsort(widths, kind='stable')
        chunks = [order[i:i + size] for i in range(0, len(order), size)]
        if rng is not None:
            rng.shuffle(chunks)
        for chunk in chunks:
            images = [lines[i].image for i in chunk]
            if rng is not None and self.augmenter.kinds:
                images = [self.augmenter(image, rng) for image in images]
            sizes = [min(input_width(*image.shape[:2]), MAX_WIDTH) for image in images]
            yield chunk, line_blob(images, sizes, max(MIN_WIDTH, max(sizes)))

    def sample_classes(self, rng):
        """Classes of one training step's sampled softmax (sorted, so the blank stays first)."""
        others = rng.choice(len(self.labels), size=min(self.options.class_sample, len(self.labels)),
                            replace=False)
        return np.union1d(self.core_classes, others)

    def targets(self, lines):
        encoded = [[self.class_of[char] for char in line.text if char in self.class_of] for line in lines]
        subset = self.net.tail.class_subset
        if subset is not None:  # class numbers within the sampled classes
            position = {int(c): i for i, c in enumerate(subset.tolist())}
            encoded = [[position[c] for c in e] for e in encoded]
        lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
        return torch.tensor([c for e in encoded for c in e], dtype=torch.long), lengths

    def loss(self, logits, lines):
        log_probs = torch.log_softmax(logits, dim=-1).permute(1, 0, 2)  # (T, N, C)
        targets, target_lengths = self.targets(lines)
        input_lengths = torch.full((logits.shape[0],), logits.shape[1], dtype=torch.long)
        return torch.nn.functional.ctc_loss(log_probs, targets.to(self.device), input_lengths,
                                            target_lengths.to(self.device), blank=0, zero_infinity=True)

    def forward(self, blob):
        features = {name: value.to(self.device) for name, value in self.net.features(blob).items()}
        return self.net.logits(features)

    # -- training --------------------------------------------------------------

    def learning_rate(self, step, total):
        warmup = min(self.options.warmup_steps, max(1, total // 10))
        if step < warmup:
            return self.options.learning_rate * (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return self.options.learning_rate * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    def train_epoch(self, epoch, total_steps, progress=None):
        self.net.tail.train()
        rng = np.random.default_rng(self.options.seed * 1000 + epoch)
        losses, seen, start = [], 0, time.time()
        if self.feature_cache is not None:
            batches = self.feature_cache.batches(self.train_lines, self.options.batch_size, rng)
        else:
            batches = ((chunk, self.net.features(blob)) for chunk, blob in self.batches(self.train_lines, rng))
        for chunk, features in batches:
            if self.options.max_steps and self.history.step >= self.options.max_steps:
                break
            for group in self.optimizer.param_groups:
                group['lr'] = self.learning_rate(self.history.step, total_steps)
            if self.core_classes is not None:
                self.net.tail.class_subset = torch.from_numpy(self.sample_classes(rng)).to(self.device)
            try:
                logits = self.net.logits({name: value.to(self.device) for name, value in features.items()})
                loss = self.loss(logits, [self.train_lines[i] for i in chunk])
            finally:
                self.net.tail.class_subset = None  # evaluation and export see every class
            self.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.tail.parameters(), 5.0)
            self.optimizer.step()
            self.history.step += 1
            losses.append(loss.item())
            seen += len(chunk)
            if progress is not None:
                progress.update(len(chunk))
                progress.set_postfix(loss=f'{np.mean(losses[-50:]):.3f}',
                                     lines_s=f'{seen / max(time.time() - start, 1e-6):.1f}')
        return (float(np.mean(losses)) if losses else math.nan), seen, time.time() - start

    @torch.no_grad()
    def evaluate(self, lines=None):
        """(CER, mean CTC loss, readings) on `lines` (default: the validation lines)."""
        lines = self.val_lines if lines is None else lines
        self.net.tail.eval()
        readings, losses = [None] * len(lines), []
        if self.feature_cache is not None and self.options.eval_batch_size == 1:
            # a line's unaugmented version is its features as read one at a time
            batches = (([i], self.feature_cache.versions(line)[0]) for i, line in enumerate(lines))
        else:
            batches = ((chunk, self.net.features(blob))
                       for chunk, blob in self.batches(lines, size=self.options.eval_batch_size))
        # with a sampled softmax, validation reads with the GT's characters and their confusions only
        # (the classes that can win on these lines; a fifth of the cost); the export check reads with all
        subset = None if self.core_classes is None else self.core_classes
        self.net.tail.class_subset = None if subset is None else torch.from_numpy(subset).to(self.device)
        try:
            for chunk, features in batches:
                logits = self.net.logits({name: value.to(self.device) for name, value in features.items()})
                losses.append(self.loss(logits, [lines[i] for i in chunk]).item() * len(chunk))
                for row, i in enumerate(chunk):
                    best = logits[row].argmax(dim=-1).cpu().numpy()
                    readings[i] = self.decode(best if subset is None else subset[best])
        finally:
            self.net.tail.class_subset = None
        pairs = [(line.text, reading) for line, reading in zip(lines, readings)]
        return cer(pairs), sum(losses) / max(1, len(lines)), readings

    def decode(self, best):
        """Greedy CTC decoding (as the recogniser does): repeats collapsed, blanks dropped."""
        keep = np.concatenate([[True], best[1:] != best[:-1]]) & (best != 0)
        return ' '.join(''.join(self.labels[c] for c in best[keep]).split())

    def fit(self, checkpoint_dir, progress_factory=None):
        """Train until `epochs`, `max_steps` or early stopping; returns the History."""
        checkpoint_dir = Path(checkpoint_dir)
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        options = self.options
        steps_per_epoch = math.ceil(len(self.train_lines) / options.batch_size)
        total = options.max_steps or steps_per_epoch * options.epochs
        if not self.history.epochs:
            val_cer, val_loss, _ = self.evaluate()
            self.history.epochs.append({'epoch': 0, 'val_cer': val_cer, 'val_loss': val_loss})
            self.history.best_cer, self.history.best_epoch = val_cer, 0
            self.best_state = self.state()
            self.log(f'epoch 0 (before training): validation CER {100 * val_cer:.2f} %, loss {val_loss:.3f}')
        first = self.history.epochs[-1]['epoch'] + 1
        for epoch in range(first, options.epochs + 1):
            progress = progress_factory(epoch, len(self.train_lines)) if progress_factory else None
            train_loss, seen, seconds = self.train_epoch(epoch, total, progress)
            if progress is not None:
                progress.close()
            val_cer, val_loss, _ = self.evaluate()
            better = val_cer < self.history.best_cer
            self.history.epochs.append({'epoch': epoch, 'val_cer': val_cer, 'val_loss': val_loss,
                                        'train_loss': train_loss, 'lines': seen, 'seconds': round(seconds, 1),
                                        'lines_per_second': round(seen / max(seconds, 1e-6), 2)})
            if better:
                self.history.best_cer, self.history.best_epoch = val_cer, epoch
                self.best_state = self.state()
            self.log(f'epoch {epoch}: train loss {train_loss:.3f}, validation CER {100 * val_cer:.2f} % '
                     f'(loss {val_loss:.3f}){" best so far" if better else ""}, '
                     f'{seen / max(seconds, 1e-6):.1f} lines/s')
            if options.checkpoint:
                self.save(checkpoint_dir / 'checkpoint.pt')
            if options.max_steps and self.history.step >= options.max_steps:
                self.log(f'stopped after {self.history.step} steps (max_steps)')
                break
            if options.stop_after_epoch and epoch >= options.stop_after_epoch and epoch < options.epochs:
                self.log(f'stopped after epoch {epoch} (stop_after_epoch): continue with --resume')
                break
            if epoch - self.history.best_epoch >= options.patience:
                self.log(f'stopped early: no better validation CER for {options.patience} epochs')
                break
        self.net.tail.load_state_dict(self.best_state)
        return self.history

    # -- checkpoints -----------------------------------------------------------

    def state(self):
        return {name: value.detach().clone() for name, value in self.net.tail.state_dict().items()}

    def save(self, path):
        torch.save({'tail': self.state(), 'best': self.best_state, 'optimizer': self.optimizer.state_dict(),
                    'history': asdict(self.history), 'labels': self.labels, 'options': asdict(self.options)},
                   str(path) + '.part')
        Path(str(path) + '.part').replace(path)

    def resume(self, path):
        saved = torch.load(path, map_location=self.device, weights_only=False)
        if saved['labels'] != self.labels:
            raise ValueError(f'{path} was trained with another dictionary or base model: cannot resume')
        self.net.tail.load_state_dict(saved['tail'])
        self.optimizer.load_state_dict(saved['optimizer'])
        self.history = History(**saved['history'])
        self.best_state = saved['best']
        self.log(f'resumed from {path} after epoch {self.history.epochs[-1]["epoch"]}')

    # -- export ------------------------------------------------------------------

    def export(self):
        """The trained model as ONNX (weights rounded to float16, as the
        shipped weight patches store them), dictionary in its metadata, and
        the margin its lines were cut with (that of its base model, which
        recognition then reads with too)."""
        margin = self.reading_margin
        metadata = None if margin is None else {MARGIN_KEY: repr(float(margin))}
        return self.net.export(self.dictionary, rounding=np.float16, metadata=metadata)

    @torch.no_grad()
    def compare_export(self, onnx_path, lines):
        """How the exported ONNX reads `lines` through ocrd-ppocr-recognize's
        engine against the PyTorch model with the same (rounded) weights:
        share of identical texts and the largest probability difference."""
        import onnxruntime as ort

        rounded = {k: v.to(torch.float16).to(torch.float32) if v.is_floating_point() else v
                   for k, v in self.best_state.items()}
        self.net.tail.load_state_dict(rounded)
        self.net.tail.eval()
        session = ort.InferenceSession(str(onnx_path), providers=['CPUExecutionProvider'])
        engine = TextRecognizer(str(onnx_path), top_k=1)
        engine_texts = [r.text for r in engine.recognize([line.image for line in lines])]
        same, largest = 0, 0.0
        for chunk, blob in self.batches(lines, size=1):
            torch_probs = torch.softmax(self.forward(blob), dim=-1).cpu().numpy()
            onnx_probs = session.run(None, {session.get_inputs()[0].name: blob})[0]
            largest = max(largest, float(np.abs(torch_probs - onnx_probs).max()))
            for row, i in enumerate(chunk):
                same += self.decode(torch_probs[row].argmax(axis=-1)) == ' '.join(engine_texts[i].split())
        self.net.tail.load_state_dict(self.best_state)
        return {'lines': len(lines), 'same_text_share': same / max(1, len(lines)),
                'max_probability_difference': largest,
                'engine_cer': cer([(line.text, text) for line, text in zip(lines, engine_texts)])}
