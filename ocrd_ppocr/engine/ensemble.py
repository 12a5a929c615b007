"""Ensembles of recognisers that vote (see voting.py), and their files.

An ensemble resource is a JSON file `NAME.ensemble.json` in the folder of
its members (ocrd-ppocr-train --folds writes one):

    {"ensemble": 1,
     "members": ["NAME.fold1.onnx", "NAME.fold2.onnx", ...],
     "voting": "confidence"}

A member is a file name relative to the JSON file's folder (or an absolute
path), or {"model": "x.onnx", "dictionary": "x.txt"} for a model without
`character` metadata. So `-P model NAME` (or a comma-separated list of
models, `-P model a,b,c`) reads every line with each member and writes the
voted reading.
"""
import json
import os

from .recognize import TextRecognizer
from .session import ModelError
from .voting import vote

SUFFIX = '.ensemble.json'
# members give the vote at least this many alternatives per character
VOTE_TOP_K = 3


def read_ensemble(path):
    """[(model path, dictionary path or None)] of an ensemble file."""
    try:
        with open(path, encoding='utf-8') as file:
            spec = json.load(file)
        members = spec['members']
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ModelError(f'{path}: not an ensemble file ({err})') from None
    folder = os.path.dirname(os.path.abspath(path))
    result = []
    for member in members:
        model, dictionary = (member, None) if isinstance(member, str) else (member.get('model'), member.get('dictionary'))
        model = os.path.normpath(os.path.join(folder, model))
        if not os.path.isfile(model):
            raise ModelError(f'{path}: member {model} not found')
        result.append((model, os.path.normpath(os.path.join(folder, dictionary)) if dictionary else None))
    if len(result) < 1:
        raise ModelError(f'{path}: an ensemble needs at least one member')
    return result


def write_ensemble(path, members):
    """Write an ensemble file listing `members` (model paths): relative to
    its folder where they lie in it, so that the folder can move."""
    folder = os.path.dirname(os.path.abspath(path))
    names = [os.path.basename(m) if os.path.dirname(os.path.abspath(m)) == folder else os.path.abspath(m)
             for m in members]
    with open(path, 'w', encoding='utf-8') as file:
        json.dump({'ensemble': 1, 'members': names, 'voting': 'confidence'}, file, indent=1)
        file.write('\n')


class EnsembleRecognizer:
    """Reads each crop with every member and votes; the interface of
    TextRecognizer (`recognize(crops) -> [LineResult]`, `labels`)."""

    def __init__(self, members, top_k=3, **options):
        """`members`: [(model path, dictionary path or None)]; `options` as TextRecognizer's."""
        self.top_k = int(top_k)
        self.members = [TextRecognizer(model, dictionary, top_k=max(self.top_k, VOTE_TOP_K), **options)
                        for model, dictionary in members]
        # every label any member can read (the blank first, the space last, as TextRecognizer's)
        seen = dict.fromkeys(label for member in self.members for label in member.labels[1:-1])
        self.labels = [''] + list(seen) + [' ']

    def read_all(self, crops):
        """Every member's readings: [member][crop] -> LineResult."""
        return [member.recognize(crops) for member in self.members]

    def recognize(self, crops):
        return self.vote(self.read_all(crops))

    def vote(self, readings):
        """Voted LineResults from read_all's readings."""
        return [vote(list(line), self.top_k) for line in zip(*readings)]
