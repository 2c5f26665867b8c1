"""Synthetic, non-graphic demo collections for Dalil.

The generator in :mod:`dalil.demo.generate` produces a folder tree that imitates a
hand-over of forensic photographs -- but every picture shows only an index card lying on
a table, carrying fictitious detainee / branch / report numbers written with a small
stroke "font" (:mod:`dalil.demo.handwriting`) that imitates handwriting in Western and
Arabic-Indic digits.  No people, no bodies, nothing downloaded.  The collection is used
by ``dalil demo``, by the test-suite and by the benchmarks.
"""
