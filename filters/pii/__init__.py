"""PII in transcripts: detection of written and spoken forms, and typed-placeholder redaction.

Pure library (no Beam): decide runs ``PiiDetector.detect_recording`` over a recording's labels
and applies ``PiiConfig.action`` per type. See detector.py for the flow, spoken.py for how
spoken forms are handled, names.py for the per-language name recognisers.
"""

from filters.pii.config import PiiConfig
from filters.pii.detector import PiiDetector
from filters.pii.names import register_name_recogniser
from filters.pii.spans import PII_TYPES, PiiSpan, placeholder, redact_text

__all__ = ["PII_TYPES", "PiiConfig", "PiiDetector", "PiiSpan", "placeholder", "redact_text",
           "register_name_recogniser"]
