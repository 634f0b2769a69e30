"""Pure functions and classes over records: no Beam imports, unit-testable in microseconds."""
