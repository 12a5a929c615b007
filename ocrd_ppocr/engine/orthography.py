"""Fraktur spelling as printed, for text read by PP-OCR recognisers.

Fraktur prints a long s (ſ) inside words and a small e above umlauted vowels
(aͤ, oͤ, uͤ); OCR-D's transcription guidelines (level 2) and its ground truth
keep both. PP-OCR recognisers were trained on modern text: they read ſ as s
(or f) and the small e as a diaeresis. `fraktur_spelling` rewrites a reading
the way the page prints it:

- ä, ö, ü become a, o, u with a combining small e (U+0364), and so do å
  and ů, as which the models read the small e now and then (a ring);
- s becomes ſ inside a word, where Fraktur sets it: before a letter or a
  hyphen that splits a word. Round s stays at the end of a word and at the
  end of the first part of a compound where that is plain to see: before
  "sch" (Monats-schrift), after the suffixes -ung, -heit, -keit, -schaft
  (Denkungs-art), and in the prefix aus- (Aus-gang).

Applied to the modern spelling of kant_aufklaerung_1784's two GT pages
(ſ -> s, aͤ -> ä), the rules give back the GT text but for 6 of its 2187
characters (round s ending a morpheme the rules cannot see, as in Ur-sachen,
and places where the GT itself is not consistent). Antiqua print, which has
round s throughout, must not use them.
"""
from .recognize import CharResult, LineResult

COMBINING_E = '\u0364'
UMLAUTS = {'ä': 'a' + COMBINING_E, 'ö': 'o' + COMBINING_E, 'ü': 'u' + COMBINING_E,
           # the small e read as a ring, a letter German print does not have
           'å': 'a' + COMBINING_E, 'ů': 'u' + COMBINING_E}
ROUND_S_AFTER = ('ung', 'heit', 'keit', 'schaft')  # a joining s follows these suffixes
ROUND_S_PREFIXES = ('aus',)


def fraktur_spelling(line):
    """A copy of the LineResult `line` with Fraktur's ſ and umlauts."""
    text = ''.join(char.char for char in line.chars)
    chars = []
    for position, char in enumerate(line.chars):
        long_s = char.char == 's' and _long_s_at(text, position)
        chars.append(CharResult(_spell(char.char, long_s), char.conf, char.x0, char.x1,
                                [(_spell(alternative, long_s), p) for alternative, p in char.alternatives]))
    return LineResult(''.join(char.char for char in chars), line.confidence, chars)


def fraktur_text(text):
    """`text` (a plain string) with Fraktur's ſ and umlauts."""
    return ''.join(_spell(c, c == 's' and _long_s_at(text, i)) for i, c in enumerate(text))


def _spell(char, long_s):
    if char == 's' and long_s:
        return 'ſ'
    return UMLAUTS.get(char, char)


def _long_s_at(text, position):
    """True if the s at `position` of `text` is set as a long s in Fraktur."""
    following = text[position + 1:position + 2]
    if not (following.isalpha() or following == '-'):
        return False  # end of a word
    if following == '-' and text[position + 2:position + 3].isupper():
        return False  # end of the first word of a hyphenated compound
    if text[position + 1:position + 4].lower() == 'sch':
        return False
    start = position
    while start > 0 and text[start - 1].isalpha():
        start -= 1
    before = text[start:position].lower()
    if before.endswith(ROUND_S_AFTER):
        return False
    return before + 's' not in ROUND_S_PREFIXES
