"""Typed records that flow through speechcurate, their Arrow schemas and key rules.

No Beam and no models here: everything in this package is plain data and pure functions.
"""
