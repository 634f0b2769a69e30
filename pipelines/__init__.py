"""Beam pipelines, stages, model handlers and the command line of speechcurate."""
