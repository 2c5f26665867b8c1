"""Arabic script folded so that the spellings of one name meet (see ``normalise_arabic``)."""

from __future__ import annotations

import re
import unicodedata

# Marks that change pronunciation but not the name: harakat, tanwin, shadda, sukun, the
# combining hamza and madda, superscript alef, Quranic annotation signs (and the extended
# block's marks, used by some keyboards for the same purpose).
_MARKS = re.compile(
    "[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
    "\u08d3-\u08e1\u08e3-\u08ff]"
)
# Ligatures whose compatibility form is a whole phrase (ﷺ), not part of a name.
_PHRASES = re.compile("[\ufdfa\ufdfb\ufdfd]")
# Invisible format characters: tatweel, zero-width (non-)joiners, direction marks, BOM.
_INVISIBLE = re.compile("[\u0640\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u061c]")
_SPACE = re.compile(r"\s+")

_LETTERS = str.maketrans(
    {
        "\u0623": "\u0627",  # أ alef with hamza above
        "\u0625": "\u0627",  # إ alef with hamza below
        "\u0622": "\u0627",  # آ alef with madda
        "\u0671": "\u0627",  # ٱ alef wasla
        "\u0672": "\u0627",  # ٲ alef with wavy hamza above
        "\u0673": "\u0627",  # ٳ alef with wavy hamza below
        "\u0675": "\u0627",  # ٵ high hamza alef
        "\u0649": "\u064a",  # ى alef maqsura -> yeh
        "\u0629": "\u0647",  # ة teh marbuta -> heh
        "\u06c3": "\u0647",  # ۃ teh marbuta goal (Urdu)
        "\u0624": "\u0648",  # ؤ waw with hamza
        "\u0676": "\u0648",  # ٶ high hamza waw
        "\u0626": "\u064a",  # ئ yeh with hamza
        "\u0678": "\u064a",  # ٸ high hamza yeh
        "\u06cc": "\u064a",  # ی Farsi yeh
        "\u06d0": "\u064a",  # ې
        "\u06cd": "\u064a",  # ۍ
        "\u06ce": "\u064a",  # ێ Kurdish
        "\u06d2": "\u064a",  # ے Urdu yeh barree
        "\u06a9": "\u0643",  # ک keheh
        "\u06aa": "\u0643",  # ڪ swash kaf
        "\u06af": "\u0643",  # گ gaf
        "\u06c1": "\u0647",  # heh goal
        "\u06be": "\u0647",  # heh doachashmee
        "\u06c0": "\u0647",  # ۀ heh with yeh
        "\u06d5": "\u0647",  # Kurdish ae
        "\u067e": "\u0628",  # پ peh
        "\u0686": "\u062c",  # چ tcheh
        "\u0698": "\u0632",  # ژ jeh
        "\u06a4": "\u0641",  # ڤ veh (v in Levantine spellings of foreign names)
        "\u06a8": "\u0642",  # ڨ qaf with three dots (Maghrebi g)
        "\u06b5": "\u0644",  # ڵ Kurdish
        "\u0695": "\u0631",  # ڕ Kurdish
        "\u06c6": "\u0648",  # ۆ Kurdish
        "\u06c7": "\u0648",  # ۇ
        "\u0660": "0", "\u0661": "1", "\u0662": "2", "\u0663": "3", "\u0664": "4",
        "\u0665": "5", "\u0666": "6", "\u0667": "7", "\u0668": "8", "\u0669": "9",
        "\u06f0": "0", "\u06f1": "1", "\u06f2": "2", "\u06f3": "3", "\u06f4": "4",
        "\u06f5": "5", "\u06f6": "6", "\u06f7": "7", "\u06f8": "8", "\u06f9": "9",
        "\u060c": ",",  # ، Arabic comma
        "\u061b": ";",  # ؛
        "\u061f": "?",  # ؟
        "\u066a": "%",  # ٪
        "\u066b": ".",  # Arabic decimal separator
        "\u066c": ",",  # Arabic thousands separator
    }
)  # fmt: skip

HAMZA = "\u0621"


def normalise_arabic(text: str) -> str:
    """Arabic text folded so that the ordinary spellings of one name are the same string.

    NFKC first (presentation forms and ligatures become letters); then removed: diacritics
    (harakat, tanwin, shadda, sukun, superscript alef, Quranic marks), tatweel, zero-width and
    direction characters. Replaced: أ إ آ ٱ → ا; ى → ي; ة → ه; ؤ → و; ئ → ي; Persian, Urdu and
    Kurdish letters by their Arabic counterparts (ک گ → ك, ی ې ے → ي, ہ ھ ە → ه, پ → ب, چ → ج,
    ژ → ز, ڤ → ف); Arabic-Indic and Eastern Arabic-Indic digits → 0-9; Arabic comma,
    semicolon and question mark → ASCII; runs of whitespace → one space, trimmed.

    The hamza on the line (ء) is **kept**: it is a written letter, and dropping it would merge
    distinct names such as علاء (Alaa) and علا (Ola). Hamza on a seat is folded into its seat
    as above, because writers add and omit those seats freely. Other characters (Latin
    letters, punctuation) are left as they are.
    """  # noqa: RUF002 - Arabic letters named in the docstring
    text = unicodedata.normalize("NFKC", _PHRASES.sub(" ", text))
    text = _INVISIBLE.sub("", _MARKS.sub("", text))
    return _SPACE.sub(" ", text.translate(_LETTERS)).strip()
