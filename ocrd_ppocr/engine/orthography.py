"""Spelling of the text written: Fraktur as printed, or modern letters.

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

`modern_spelling` goes the other way, for any model (the Fraktur model reads
as its level-2 training data transcribes): historical letter forms become the
modern letters that full-text search and most GT in modern spelling use.
"""
import unicodedata
from dataclasses import replace

from .recognize import CharResult, LineResult

COMBINING_E = '\u0364'
UMLAUTS = {'ä': 'a' + COMBINING_E, 'ö': 'o' + COMBINING_E, 'ü': 'u' + COMBINING_E,
           # the small e read as a ring, a letter German print does not have
           'å': 'a' + COMBINING_E, 'ů': 'u' + COMBINING_E}
# Historical forms and their modern letters: long s (and its ligatures), r
# rotunda, the Latin ligatures, and the MUFI private-use vowels with small e
# above that OCR-D GT writes (fraktur_pages' clauren: "nthig", "htte").
MODERN_LETTERS = {'ſ': 's', 'ẛ': 'ṡ', 'ꝛ': 'r', 'Ꝛ': 'R', 'ﬅ': 'st', 'ﬆ': 'st', 'ﬀ': 'ff', 'ﬁ': 'fi',
                  'ﬂ': 'fl', 'ﬃ': 'ffi', 'ﬄ': 'ffl', '\ue42c': 'ä', '\ue644': 'ö', '\ue72b': 'ü'}
DIAERESIS = '\u0308'
ROUND_S_AFTER = ('ung', 'heit', 'keit', 'schaft')  # a joining s follows these suffixes
ROUND_S_PREFIXES = ('aus',)
WORD_HYPHENS = '-⸗¬'  # marks that split a word: an s before one is inside the word


def fraktur_spelling(line):
    """A copy of the LineResult `line` with Fraktur's ſ and umlauts."""
    text = ''.join(char.char for char in line.chars)
    chars = []
    for position, char in enumerate(line.chars):
        long_s = char.char == 's' and _long_s_at(text, position)
        chars.append(CharResult(_spell(char.char, long_s), char.conf, char.x0, char.x1,
                                [(_spell(alternative, long_s), p) for alternative, p in char.alternatives]))
    return replace(line, text=''.join(char.char for char in chars), chars=chars)


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
    hyphen = following != '' and following in WORD_HYPHENS
    if not (following.isalpha() or hyphen):
        return False  # end of a word
    if hyphen and text[position + 2:position + 3].isupper():
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


def modern_spelling(line):
    """A copy of the LineResult `line` in modern letters: ſ -> s, ꝛ -> r,
    ligatures as their letters, a vowel with small e above (aͤ, read as two
    characters, or a MUFI letter) -> ä, ö, ü. A small e that the recogniser
    read as a character of its own joins the glyph before it: the two become
    one glyph spanning both, whose alternatives are those of the first, each
    with the umlaut."""
    chars = []
    for char in line.chars:
        if chars and char.char.startswith(COMBINING_E) and chars[-1].char:
            base = chars[-1]
            mark = char.char
            chars[-1] = CharResult(modern_text(base.char + mark), base.conf, base.x0, char.x1,
                                   _merged(base.alternatives, mark))
            continue
        chars.append(CharResult(modern_text(char.char), char.conf, char.x0, char.x1,
                                _merged(char.alternatives, '')))
    return LineResult(''.join(char.char for char in chars), line.confidence, chars)


def modern_text(text):
    """`text` (a plain string) in modern letters (see modern_spelling)."""
    letters = ''.join(MODERN_LETTERS.get(c, c) for c in text)
    out = ''
    for c in letters:
        if c != COMBINING_E:
            out += c
        elif out and out[-1].isalpha():
            # the small e above is the umlaut's older form: a diaeresis, composed where Unicode can
            out = out[:-1] + unicodedata.normalize('NFC', out[-1] + DIAERESIS)
        # a small e above no letter (a stray mark) is dropped
    return out


def _merged(alternatives, suffix):
    """`alternatives` with `suffix` added, in modern letters; those that become
    equal are one, with the highest probability."""
    merged = {}
    for alternative, p in alternatives:
        alternative = modern_text(alternative + suffix)
        merged[alternative] = max(p, merged.get(alternative, 0.0))
    return list(merged.items())


# the orthography parameter's values that rewrite a reading ('as-read' does not)
SPELLINGS = {'fraktur': fraktur_spelling, 'modern': modern_spelling}


# Marks that end a line in the middle of a word, as read or as GT sets write
# them: hyphen, double oblique hyphen (Fraktur), em and en dash (the DTA's
# Fraktur lines), not sign (some English GT), equals sign (a ⸗ look-alike).
LINE_END_HYPHENS = '-⸗—–¬='


def line_end_hyphen(line, hyphen):
    """A copy of the LineResult `line` whose line-end hyphenation mark (one of
    LINE_END_HYPHENS right after a letter: a word split at the line end) is
    written as `hyphen`; `line` itself where it has none. A dash after a
    space ("Worte —") is punctuation and stays."""
    chars = line.chars
    if len(chars) < 2 or chars[-1].char not in LINE_END_HYPHENS or not _ends_in_letter(chars[-2].char):
        return line
    last = chars[-1]
    # hyphen marks read as alternatives are the one hyphen now
    chars = chars[:-1] + [CharResult(hyphen, last.conf, last.x0, last.x1,
                                     _merged_as(last.alternatives, LINE_END_HYPHENS, hyphen))]
    return replace(line, text=''.join(char.char for char in chars), chars=chars)


def line_end_hyphen_text(text, hyphen='-'):
    """`text` (one line, a plain string) with its line-end hyphenation mark
    written as `hyphen`, by the rule of `line_end_hyphen`: for ground truth,
    so that training data ends split words as the recogniser writes them."""
    stripped = text.rstrip()
    if len(stripped) < 2 or stripped[-1] not in LINE_END_HYPHENS or not _ends_in_letter(stripped[:-1]):
        return text
    return stripped[:-1] + hyphen


def _ends_in_letter(text):
    """True if `text` ends in a letter, with or without combining marks (oͤ)."""
    while text and unicodedata.combining(text[-1]):
        text = text[:-1]
    return text[-1:].isalpha()


# Punctuation that old books set after a (thin) space, and that OCR-D GT and
# Project Gutenberg write without one: bebel's GT 2 spaced against 40 not,
# fraktur_lines 6 against 627, kant, fraktur_pages, oldbooks_en and
# tesseract_testing none spaced.
SPACED_PUNCTUATION = ';:?!'


def tight_punctuation(line):
    """A copy of the LineResult `line` without the spaces read between a
    letter or digit and one of SPACED_PUNCTUATION ("gone ;" -> "gone;")."""
    chars = line.chars
    gaps = [index for index in range(1, len(chars) - 1) if chars[index].char == ' '
            and chars[index + 1].char in SPACED_PUNCTUATION and _ends_in_letter_or_digit(chars[index - 1].char)]
    if not gaps:
        return line
    chars = [char for index, char in enumerate(chars) if index not in gaps]
    return replace(line, text=''.join(char.char for char in chars), chars=chars)


def tight_punctuation_text(text):
    """`text` (a plain string) with the spaces of `tight_punctuation` removed."""
    return ''.join(char for index, char in enumerate(text)
                   if not (char == ' ' and 0 < index < len(text) - 1 and text[index + 1] in SPACED_PUNCTUATION
                           and _ends_in_letter_or_digit(text[:index])))


def _ends_in_letter_or_digit(text):
    return _ends_in_letter(text) or text[-1:].isdigit()


# Where a straight double quote opens a quotation: at the line start or after these
OPENING_CONTEXT = ' \t([{—–-'
LOW_OPENING = '„'  # German opens low („) and closes with “


def typographic_quotes(line):
    """A copy of the LineResult `line` with each straight double quote (")
    written as the typographic quote its place calls for: “ where it opens a
    quotation (line start, after a space or bracket), else ” (after a „ on the
    same line: “, the German closing quote). Printed books set no straight
    quotes, and OCR-D ground truth writes the printed ones (fraktur_lines'
    GT: 333 typographic double quotes, 7 straight ones); the PP-OCR models read
    the English closing quote as " (oldbooks_en). Apostrophes and single quotes
    stay as read: GT sets write them both ways (' and ’)."""
    if not any(char.char == '"' for char in line.chars):
        return line
    chars, written = [], ''
    for index, char in enumerate(line.chars):
        if char.char == '"':
            following = line.chars[index + 1].char[:1] if index + 1 < len(line.chars) else ''
            quote = _quote_after(written, following)
            char = CharResult(quote, char.conf, char.x0, char.x1, _merged_as(char.alternatives, ('"',), quote))
        chars.append(char)
        written += char.char
    return replace(line, text=written, chars=chars)


def typographic_quotes_text(text):
    """`text` (a plain string) with typographic double quotes (see typographic_quotes)."""
    written = ''
    for index, char in enumerate(text):
        written += _quote_after(written, text[index + 1:index + 2]) if char == '"' else char
    return written


def _quote_after(written, following):
    """The quote for a straight one after the text `written` and before the character `following`."""
    if (written == '' or written[-1] in OPENING_CONTEXT) and following not in ('', ' '):
        return '“'
    opened_low = written.rfind(LOW_OPENING) > written.rfind('“')
    return '“' if opened_low else '”'


def _merged_as(alternatives, olds, new):
    """`alternatives` with each of `olds` written as `new`; equal ones merged at the highest probability."""
    merged = {}
    for alternative, p in alternatives:
        alternative = new if alternative in olds else alternative
        merged[alternative] = max(p, merged.get(alternative, 0.0))
    return list(merged.items())


# Fraktur prints I and J as one letter. OCR-D GT writes it I where it stands
# for the vowel, before a consonant (clauren "Ihr", "Ich" 18 times, laube 2,
# kant 2; J before a consonant never); the fraktur_lines GT our Fraktur model
# learnt from mostly J (252 J against 36 I before a consonant), so the model
# writes "Jch", "Jhr". A J before a consonant is never a J in German or Latin;
# English has one such word, the abbreviation Jr. (Junior: oldbooks_en's
# "Jonathan, Jr."), which stays.
CONSONANTS = frozenset('bcdfghjklmnpqrstvwxzſß')


def capital_i(line):
    """A copy of the LineResult `line` with each word-initial capital J
    before a consonant written I ("Jch" -> "Ich"), but for the word Jr."""
    chars = line.chars

    def junior(index):  # "Jr" as a word of its own
        return chars[index + 1].char == 'r' and (index + 2 == len(chars) or not chars[index + 2].char[:1].isalpha())
    places = [index for index in range(len(chars) - 1) if chars[index].char == 'J'
              and chars[index + 1].char[:1] in CONSONANTS and (index == 0 or not chars[index - 1].char[-1:].isalpha())
              and not junior(index)]
    if not places:
        return line
    chars = list(chars)
    for index in places:
        char = chars[index]
        chars[index] = CharResult('I', char.conf, char.x0, char.x1, _merged_as(char.alternatives, {'J'}, 'I'))
    return replace(line, text=''.join(char.char for char in chars), chars=chars)


def text_options(result, hyphen='-', orthography='as-read', quotes='typographic', punctuation='tight',
                 fraktur_ij='I'):
    """A LineResult with the recogniser's text options applied, in their
    order: the line-end mark first (the Fraktur rules see the hyphen asked
    for), then the quotes, the spaces before punctuation, the Fraktur I/J
    and the spelling. Shared by ocrd-ppocr-recognize and ocrd-ppocr-predict."""
    if hyphen != 'as-read':
        result = line_end_hyphen(result, hyphen)
    if quotes == 'typographic':
        result = typographic_quotes(result)
    if punctuation == 'tight':
        result = tight_punctuation(result)
    if fraktur_ij == 'I':
        result = capital_i(result)
    if orthography in SPELLINGS:
        result = SPELLINGS[orthography](result)
    return result
