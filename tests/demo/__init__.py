"""Tests for the synthetic demo collection generator (dalil.demo)."""
