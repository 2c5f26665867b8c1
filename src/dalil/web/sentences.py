"""Sentences a route says to the reader before the page is rendered — a form's problems, why a
request was refused — put into the reader's language only when the page shows them.

A route runs before the page's language is set (:func:`dalil.web.render.render` holds it while
the template renders), so it keeps the English message and its values in a :class:`Sentence`;
the template writes ``{{ sentence }}``, which translates it then. Outside a page (a log) it
reads in English."""

from __future__ import annotations

from dalil.errors import UsageError
from dalil.web.render import gettext


class Sentence:
    """``message`` (marked for extraction: ``Sentence(N_("…"), name=value)``, with ``%(name)s``
    placeholders) and its ``values``, translated when shown."""

    __slots__ = ("message", "values")

    def __init__(self, message: str, **values: object) -> None:
        self.message = message
        self.values = values

    def __str__(self) -> str:
        # always a format, as the templates' ``_()``: a literal percent sign is written %%
        return gettext(self.message) % self.values

    def __repr__(self) -> str:
        return f"Sentence({self.message!r}, **{self.values!r})"


class Refused(UsageError):
    """A request a page will not carry out, with the reason as a :class:`Sentence`."""

    def __init__(self, sentence: Sentence) -> None:
        super().__init__(str(sentence))
        self.sentence = sentence
