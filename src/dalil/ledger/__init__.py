"""Tamper-evident ledger for Dalil: Merkle tree, canonical encodings, signed checkpoints."""
