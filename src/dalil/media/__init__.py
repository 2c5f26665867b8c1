"""Media analysis helpers (perceptual hashing)."""
