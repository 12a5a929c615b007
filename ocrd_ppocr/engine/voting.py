"""Confidence voting of several recognisers' readings of one line.

The models of an ensemble (e.g. trained on different folds of a book's
ground truth, as in Reul et al. 2018, "Improving OCR Accuracy on Early
Printed Books by combining Pretraining, Voting, and Active Learning", and
Calamari's confidence voter) make different mistakes; where most of them
are sure of a character, it is most likely right. For each line:

1. Pivot: the member reading with the least summed edit distance to the
   others (the medoid), so that one odd reading cannot shape the alignment.
2. Alignment: every other reading is aligned to the pivot by Levenshtein
   alignment of its characters, a combining mark kept with its base letter
   (so that o + U+0364 and ö are one substitution, never an insertion). That gives columns: one per pivot character
   (each member has a character there or nothing) and, between them, slots
   for what members read where the pivot has nothing.
3. Vote per column, by summed confidence: each member gives each of its
   top-k alternatives at that character its probability; a member with
   nothing there votes for "nothing" with its line confidence (its mean
   character confidence). Slots: each member votes for the string it
   inserts (its mean character confidence) or for nothing (its line
   confidence). The candidate with the largest sum wins.
4. The voted character gets confidence = its summed votes / number of
   members, alternatives = the other candidates the same way, and the mean
   horizontal span (crop pixels) of the members that read it. So a voted
   LineResult is written to PAGE (words, glyphs, alternatives) as one
   model's reading is.

`disagreement` measures how much the members differ from the vote: the
ranking of lines to transcribe next uses it.
"""
import unicodedata

import numpy as np

from .recognize import CharResult, LineResult, finish_line


def edit_table(a, b):
    """The (len(a)+1, len(b)+1) Levenshtein table of sequences `a` and `b`,
    one row at a time in numpy: the left-neighbour term of a row is a
    running minimum (D[i, j] = j + min over k <= j of (E[k] - k))."""
    b_codes = np.array([hash(c) for c in b], dtype=np.int64)
    columns = np.arange(len(b) + 1)
    table = np.empty((len(a) + 1, len(b) + 1), dtype=np.int64)
    table[0] = columns
    for i, char in enumerate(a, 1):
        above = table[i - 1]
        best = np.empty(len(b) + 1, dtype=np.int64)
        best[0] = i
        best[1:] = np.minimum(above[1:] + 1, above[:-1] + (b_codes != hash(char)))
        table[i] = columns + np.minimum.accumulate(best - columns)
    return table


def edit_distance(a, b):
    return int(edit_table(a, b)[-1, -1])


def align(a, b):
    """Pairs (i, j) aligning sequence `a` to `b` by least edits; i or j is
    None where one side has nothing (an insertion or a deletion)."""
    table = edit_table(a, b)
    i, j, pairs = len(a), len(b), []
    while i or j:
        if i and j and table[i, j] == table[i - 1, j - 1] + (a[i - 1] != b[j - 1]):
            i, j = i - 1, j - 1
            pairs.append((i, j))
        elif i and table[i, j] == table[i - 1, j] + 1:
            i -= 1
            pairs.append((i, None))
        else:
            j -= 1
            pairs.append((None, j))
    return pairs[::-1]


def vote(readings, top_k=3):
    """One LineResult voted from `readings` (LineResults of the same crop,
    one per member); alternatives keep at most `top_k` candidates."""
    readings = [r for r in readings if r is not None]
    if len(readings) <= 1:
        return readings[0] if readings else LineResult('', 0.0)
    units = [_units(r.chars) for r in readings]
    texts = [[''.join(c.char for c in unit) for unit in member] for member in units]
    distances = np.zeros((len(texts), len(texts)))
    for m in range(len(texts)):
        for n in range(m + 1, len(texts)):
            distances[m, n] = distances[n, m] = edit_distance(texts[m], texts[n])
    pivot = int(np.argmin(distances.sum(axis=1)))
    size = len(texts[pivot])
    # columns[p]: per member, its unit (CharResults of a letter and its marks) at pivot unit p, or None;
    # slots[p]: per member, the CharResults it reads just before pivot unit p (p == size: at the end)
    columns = [[None] * len(readings) for _ in range(size)]
    slots = [[[] for _ in readings] for _ in range(size + 1)]
    for member in range(len(readings)):
        pending = []
        for i, j in align(texts[member], texts[pivot]):
            if j is None:
                pending.extend(units[member][i])
                continue
            slots[j][member] = pending
            pending = []
            if i is not None:
                columns[j][member] = units[member][i]
        slots[size][member] = pending
    line_confs = [r.confidence for r in readings]
    chars = []
    for position in range(size + 1):
        chars.extend(_vote_slot(slots[position], line_confs, len(readings), top_k))
        if position < size:
            chars.extend(_vote_column(columns[position], line_confs, len(readings), top_k))
    return finish_line(LineResult('', 0.0, chars))


def _vote_column(column, line_confs, count, top_k):
    """The voted CharResults for one pivot column (none, one, or a letter with its marks)."""
    scores, spans, best = {}, {}, {}
    for unit, line_conf in zip(column, line_confs):
        if unit is None:
            scores[''] = scores.get('', 0.0) + line_conf
            continue
        key = ''.join(c.char for c in unit)
        if len(unit) == 1:
            candidates = unit[0].alternatives or [(key, unit[0].conf)]
        else:
            candidates = [(key, float(np.mean([c.conf for c in unit])))]
        for candidate, probability in candidates:
            scores[candidate] = scores.get(candidate, 0.0) + probability
        spans.setdefault(key, []).append((unit[0].x0, unit[-1].x1))
        if key not in best or unit[0].conf > best[key][0].conf:
            best[key] = unit
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    winner = ranked[0][0]
    if winner == '':
        return []
    share = scores[winner] / count
    alternatives = [(c, s / count) for c, s in ranked if c][:top_k]
    if len(winner) > 1 and winner in best:  # a letter with its marks: one glyph each, as the member read them
        return [CharResult(c.char, share, c.x0, c.x1, [(c.char, share)]) for c in best[winner]]
    # the span of the members that read the winner; else of all that read something here
    span = spans.get(winner) or [s for values in spans.values() for s in values]
    x0, x1 = np.mean(span, axis=0).tolist()
    return [CharResult(winner, share, x0, x1, alternatives)]


def _vote_slot(inserted, line_confs, count, top_k):
    """The CharResults voted for one slot between pivot characters."""
    scores, best = {}, {}
    for chars, line_conf in zip(inserted, line_confs):
        key = ''.join(c.char for c in chars)
        weight = float(np.mean([c.conf for c in chars])) if chars else line_conf
        scores[key] = scores.get(key, 0.0) + weight
        if chars and (key not in best or weight > best[key][0]):
            best[key] = (weight, chars)
    winner = max(scores, key=scores.get)
    if not winner:
        return []
    share = scores[winner] / count
    return [CharResult(c.char, share, c.x0, c.x1, [(c.char, share)][:top_k]) for c in best[winner][1]]


def _units(chars):
    """CharResults grouped as letters with their combining marks."""
    units = []
    for char in chars:
        if units and char.char and unicodedata.combining(char.char[0]):
            units[-1].append(char)
        else:
            units.append([char])
    return units


def disagreement(readings, voted):
    """How much the members' readings differ from the voted text: their mean
    edit distance to it per character of the vote (0: all agree)."""
    target = voted.text
    distances = [edit_distance(r.text, target) for r in readings if r is not None]
    return float(np.mean(distances)) / max(1, len(target))
