"""Readers that turn configured sources into Recording records."""
