"""Exports: court bundles that verify themselves offline (:mod:`.bundle`), exhibit reports
(:mod:`.report`), and public releases stripped of everything that identifies a source
(:mod:`.release`)."""
