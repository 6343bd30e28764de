"""Brokerage: who else works towards a call, lab or topic, introductions, and a private calendar feed."""
