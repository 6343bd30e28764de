"""Brokerage: who works towards what (interests), introductions, calendar feed tokens."""
