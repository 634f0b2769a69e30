"""Beam stages: thin PTransform/DoFn wrappers around the pure code in filters/."""
