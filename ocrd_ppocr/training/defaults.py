"""What ocrd-ppocr-train chooses by itself from the amount of ground truth.

With little GT of one book (up to SMALL_GT lines, no separate validation
set), training follows Reul et al. 2018: the lines are cut into folds, each
fold validates one model trained on the others, and the models vote
(an ensemble, NAME.ensemble.json). The work is sized to a CPU budget of
about LINE_PASSES training line passes in all (lines x (folds - 1) x
epochs, MIN_EPOCHS-MAX_EPOCHS; about 2-3 CPU minutes with the backbone
frozen, its features computed once for all folds, and the head's softmax
sampled), so fewer epochs with more lines.

With more GT, or with an explicit validation set or split, one model is
trained with the long-standing defaults. Whatever the user gives on the
command line wins over a choice made here.
"""

SMALL_GT = 200  # up to this many lines: folds and an ensemble
# training line passes for the whole small-GT run; on the development protocol (benchmarks/adapt.py
# --dev, the four fraktur_lines works, voted CER) 4x the former 3000 took the mean 2.06 -> 1.92 %
# (2x: 1.98) for 1.5-2 CPU minutes a work instead of 1; 3 folds instead of 5 (2.20 %), 10 cached
# versions of each line instead of 5 (1.94 %) and the backbone's last stage trainable (unstable at
# this rate, over budget without the feature cache, no better with it) did not help
LINE_PASSES = 12000
MIN_EPOCHS, MAX_EPOCHS = 6, 80
CLASS_SAMPLE = 256  # other classes drawn per step for the head's sampled softmax
# few steps (a few hundred in all): twice the large-GT rate; on the development protocol
# (benchmarks/adapt.py --dev) 1e-3 beat 5e-4 on books far from the base model and near it,
# 2e-3 helped the far ones and hurt the near one
SMALL_LEARNING_RATE = 1e-3
LARGE = {'folds': 1, 'epochs': 10, 'patience': 3, 'trainable': 'neck', 'augment': 'all', 'class_sample': 0,
         'learning_rate': 5e-4}


def choose(line_count, given, explicit_validation):
    """(settings, reasons): every setting of LARGE, each taken from `given`
    (the user's, None where not given) or chosen here, with a reason."""
    chosen, reasons = {}, {}
    small = line_count <= SMALL_GT and not explicit_validation
    folds = given.get('folds')
    if folds is None:
        folds = (5 if line_count <= 100 else 3) if small and line_count >= 10 else 1
        reasons['folds'] = (f'{line_count} lines (at most {SMALL_GT}): {folds} models, each validated on '
                            f'its own fold, vote' if folds > 1 else
                            'one model: an explicit validation set or split' if explicit_validation else
                            f'one model: {line_count} lines')
    chosen['folds'] = folds
    if folds > 1:
        epochs = max(MIN_EPOCHS, min(MAX_EPOCHS, round(LINE_PASSES / (line_count * (folds - 1)))))
        defaults = {'epochs': epochs, 'patience': max(3, epochs // 3), 'trainable': 'neck', 'augment': 'all',
                    'class_sample': CLASS_SAMPLE, 'learning_rate': SMALL_LEARNING_RATE}
        why = {'epochs': f'{LINE_PASSES} line passes in all over {folds} folds of {line_count} lines',
               'patience': 'a third of the epochs', 'trainable': 'backbone frozen: fast, and enough for a book',
               'augment': 'few lines: every augmentation',
               'class_sample': 'sampled softmax of the head: 3x faster steps on CPU',
               'learning_rate': f'few steps: twice the rate of large GT ({LARGE["learning_rate"]:g})'}
    else:
        defaults, why = LARGE, {}
    for key in ('epochs', 'patience', 'trainable', 'augment', 'class_sample', 'learning_rate'):
        if key == 'patience' and folds > 1:
            defaults['patience'] = max(3, chosen['epochs'] // 3)  # of the epochs given or chosen
        if given.get(key) is not None:
            chosen[key] = given[key]
        else:
            chosen[key] = defaults[key]
            if key in why:
                reasons[key] = why[key]
    return chosen, reasons
