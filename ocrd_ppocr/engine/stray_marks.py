"""Accents that the page does not confirm, read as the bare letter.

PP-OCR recognisers read speckled or worn Antiqua now and then with an accent
or stroke that is not printed: on oldbooks_en's ten English pages the default
chain wrote chíldren, thêir, Severał, Àmerican, àt, inferiór, ıs, easıly,
canıng, and not one accented letter that the pages print. A language model
would veto them; the page itself is a cheaper witness. Print that uses a
marked letter uses it again: French accents recur on every page of French
print, confidently read. So a letter with an accent (acute, grave,
circumflex: the marks the models add) or ı ł is read as its bare letter when

- no other reading of the same letter on the page is confident
  (CONFIRMED), and
- the model itself saw the bare letter there: it is among the character's
  alternatives with at least BARE_FLOOR.

A line-image folder (ocrd-ppocr-predict) counts as one page. Other marks
are never dropped: umlauts (the Fraktur model reads a single ü of a Fraktur
page, kant's herrſchſüchtiger as its GT writes it, with confidence 0.64 and
u beside it; Fraktur's small e above, U+0364), the macrons, tildes and hooks
that abbreviate early prints (ā, ẽ, ę), cedillas. Letters without a bare
form (ß, ſ, æ) are never touched. Replayed on the default chain's
glyph readings: 9 of 9 marked letters on oldbooks_en go, all misread; 3 on
bebel (ès, Vorstéllung, haudélt), all misread; none on kant, clauren,
laube.

The small e above (U+0364) marks an umlaut of a, o or u: over any other
letter it is never printed (every GT we have writes it 1249 times over
a, o, u and once over ſ) and always goes (the Fraktur model read kant's
"als die" as "als dͤie").
"""
import unicodedata
from collections import Counter
from dataclasses import replace

from .recognize import CharResult

# Letters whose mark is not a combining one in Unicode (no decomposition).
STROKED = {'ı': 'i', 'ł': 'l', 'Ł': 'L', 'ɪ': 'i'}
STRAY_MARKS = '\u0300\u0301\u0302'  # grave, acute, circumflex: the only combining marks dropped
SMALL_E = '\u0364'  # Fraktur's umlaut mark: over these letters only
UMLAUT_BASES = 'aouAOU'
CONFIRMED = 0.97  # a reading at least this confident confirms its letter for the page
BARE_FLOOR = 0.02  # the bare letter's probability at least this for the mark to go
BARE_ALTERNATIVES = 2  # alternatives per character the recogniser must give (top_k) for the bare letter to show


def bare_letter(char):
    """The letter `char` without its marks, or None where it has none to drop."""
    if char in STROKED:
        return STROKED[char]
    parts = unicodedata.normalize('NFD', char)
    # Latin letters only: the kana's voicing marks decompose the same way
    if len(parts) < 2 or not ('a' <= parts[0].lower() <= 'z') or any(mark not in STRAY_MARKS for mark in parts[1:]):
        return None
    return parts[0]


def drop_stray_marks(lines, top_k=None):
    """`lines` (LineResults of one page, read with at least BARE_ALTERNATIVES
    alternatives per character) with each marked letter the page does not
    confirm read as its bare letter (see the module's doc). With `top_k`, the
    characters keep that many alternatives (the caller's own choice, where
    it read more for this rule)."""
    confirmed = Counter(char.char.lower() for line in lines for char in line.chars
                        if char.conf >= CONFIRMED and bare_letter(char.char))
    return [_dropped(line, confirmed, top_k) for line in lines]


def without_misplaced_e(char):
    """`char` (a CharResult) without a small e above a letter that takes none."""
    if SMALL_E not in char.char[1:] or char.char[0] in UMLAUT_BASES:
        return char
    return CharResult(_unmarked(char.char), char.conf, char.x0, char.x1,
                      [(_unmarked(text), p) for text, p in char.alternatives])


def _unmarked(text):
    return text if text[:1] in UMLAUT_BASES else text.replace(SMALL_E, '')


def _dropped(line, confirmed, top_k):
    chars, changed = [], False
    for char in line.chars:
        unmarked = without_misplaced_e(char)
        changed |= unmarked is not char
        char = unmarked
        bare = bare_letter(char.char)
        if bare and confirmed[char.char.lower()] - (char.conf >= CONFIRMED) < 1:
            p = dict(char.alternatives).get(bare, 0.0)
            if p >= BARE_FLOOR:
                char = CharResult(bare, p, char.x0, char.x1, _with_first(char.alternatives, bare))
                changed = True
        if top_k and len(char.alternatives) > top_k:
            char = replace(char, alternatives=char.alternatives[:top_k])
            changed = True
        chars.append(char)
    if not changed:
        return line
    return replace(line, text=''.join(char.char for char in chars), chars=chars)


def _with_first(alternatives, chosen):
    """`alternatives` with `chosen` first, the others in their order."""
    return sorted(alternatives, key=lambda alternative: alternative[0] != chosen)
