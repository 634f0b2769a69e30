"""Reason codes for rejects: one vocabulary across stages.

The report counts `dropped_{reason}` from these strings, so they never change meaning.
"""

from enum import StrEnum


class Stage(StrEnum):
    """Where in the pipeline a record was dropped."""

    SOURCE = "source"
    CRAWL = "crawl"
    DECODE = "decode"
    TRANSCRIPT = "transcript"
    SEGMENT = "segment"
    LID = "lid"
    ASR = "asr"
    LABEL = "label"
    QUALITY = "quality"
    PII = "pii"
    DEDUP = "dedup"
    SHARD = "shard"
    TAKEDOWN = "takedown"  # opt-out / erasure rules (filters/takedown.py), first in decide


class Reason(StrEnum):
    """Why a record was dropped. Stable strings: they end up in manifests and reports."""

    # source / fetch
    SOURCE_UNREADABLE = "source_unreadable"
    MANIFEST_ROW_INVALID = "manifest_row_invalid"
    NOT_AUDIO = "not_audio"
    DUPLICATE_LISTING = "duplicate_listing"  # the same audio listed again; the first listing wins
    NOT_A_FILE = "not_a_file"  # a FIFO, device, socket or directory (after resolving symlinks)
    PATH_OUTSIDE_ROOT = "path_outside_root"  # a manifest path outside the roots the config allows
    # crawl (HTTP failures use dynamic codes: f"http_{status}", e.g. http_404, http_429)
    ROBOTS_DISALLOWED = "robots_disallowed"
    SSRF_BLOCKED = "ssrf_blocked"
    OPTED_OUT = "opted_out"
    TIMEOUT = "timeout"
    REDIRECT_LOOP = "redirect_loop"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    BAD_REDIRECT = "bad_redirect"
    BAD_URL = "bad_url"
    DNS_FAILED = "dns_failed"
    FETCH_FAILED = "fetch_failed"
    TLS_ERROR = "tls_error"
    TRUNCATED = "truncated"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    CORRUPT_ENCODING = "corrupt_encoding"
    MALFORMED_DOCUMENT = "malformed_document"
    OFF_SITE = "off_site"
    CRAWL_LIMIT = "crawl_limit"
    # decode
    EMPTY_FILE = "empty_file"
    TOO_LARGE = "too_large"
    TOO_LONG = "too_long"
    CORRUPT_AUDIO = "corrupt_audio"
    NO_AUDIO_STREAM = "no_audio_stream"
    DECODE_TIMEOUT = "decode_timeout"
    TOO_SHORT = "too_short"
    # transcript
    TRANSCRIPT_UNREADABLE = "transcript_unreadable"
    TRANSCRIPT_NOT_UTF8 = "transcript_not_utf8"
    TRANSCRIPT_MALFORMED = "transcript_malformed"
    # segmentation
    NO_SPEECH = "no_speech"
    SEGMENT_TOO_SHORT = "segment_too_short"
    # language / labels
    LID_MISMATCH = "lid_mismatch"
    LID_LOW_CONFIDENCE = "lid_low_confidence"
    LANGUAGE_NOT_ALLOWED = "language_not_allowed"
    EMPTY_LABEL = "empty_label"
    LABEL_DISAGREEMENT = "label_disagreement"
    LOW_ASR_CONFIDENCE = "low_asr_confidence"
    UNALIGNED_TEXT = "unaligned_text"
    HALLUCINATION = "hallucination"
    MACHINE_TRANSCRIPT = "machine_transcript"
    LABEL_FAILED = "label_failed"
    ASR_FAILED = "asr_failed"
    # quality / privacy / dedup
    LOW_QUALITY = "low_quality"
    PII = "pii"
    DUPLICATE = "duplicate"
    EVAL_CONTAMINATION = "eval_contamination"
    TAKEN_DOWN = "taken_down"
    # quality (filters/quality.py; each also a check name in curate.quality.flag_checks)
    LOW_DNSMOS = "low_dnsmos"
    LOW_SNR = "low_snr"
    CLIPPING = "clipping"
    DC_OFFSET = "dc_offset"
    DIGITAL_SILENCE = "digital_silence"
    TOO_QUIET = "too_quiet"
    NARROWBAND = "narrowband"
    LOW_SPEECH_RATIO = "low_speech_ratio"
    SPEECH_RATE = "speech_rate"
    SYMBOL_ONLY_LABEL = "symbol_only_label"
    NONSPEECH_ANNOTATION = "nonspeech_annotation"
    FOREIGN_SCRIPT = "foreign_script"
    QUALITY_FAILED = "quality_failed"
    # labels (issue 10): a pseudo-label that leaves VAD speech of its segment uncovered
    LABEL_INCOMPLETE = "label_incomplete"
    TRANSCRIPT_COVERAGE = "transcript_coverage"  # a flag: the transcript is mostly unused
    # voice anonymisation (filters/anonymise.py): choosing a voice's α failed, so the segment is
    # not published un-anonymised
    ANONYMISE_FAILED = "anonymise_failed"
    # translation pairs (issue 19): English text on other-language audio that Whisper's own
    # translation does not confirm (a transcript reject: the audio goes on with its pseudo-label)
    TRANSLATION_MISMATCH = "translation_mismatch"
    # dedup (issue 12; filters/dedup/): decided over the whole corpus in decide
    NEAR_DUPLICATE_AUDIO = "near_duplicate_audio"  # another member of its audio cluster stays
    REPEATED_TEXT = "repeated_text"  # same words, different audio, beyond max_text_copies
    EVAL_OVERLAP = "eval_overlap"  # its text overlaps a user-supplied evaluation set
    EVAL_FAILED = "eval_failed"  # the eval-overlap filter crashed on it
    DEDUP_FAILED = "dedup_failed"


class RejectError(ValueError):
    """An input that cannot be used; ``reason`` becomes the Reject's reason code.

    Picklable with its fields, so it survives the decoder's process boundary."""

    def __init__(self, reason: Reason, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    def __reduce__(self):
        return (type(self), (self.reason, self.detail))
