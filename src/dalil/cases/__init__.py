"""Cases: the people, incidents and places that items are about.

Near-duplicate clusters become *proposed* cases (:func:`model.propose`); people accept, merge,
split or reject them, link photographs with their role, and make claims (annotations): typed
identifiers (detainee, branch and forensic report numbers, and types an admin adds),
attributes, marks and notes. OCR readings of numbers on cards and bodies are claims too,
made on the user's behalf. A claim is *verified* only after a second person confirms it
(:mod:`review`); disagreements are kept. Everything is searchable (:mod:`search`), and every
change is a ledger event.
"""
