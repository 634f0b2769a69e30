"""Run configuration: the sources to read and one frozen dataclass per stage.

``sources.yaml`` is parsed once, up front; every problem raises :class:`ConfigError` naming the
exact field (``curate.asr.batch_size``) so a bad config fails before any work starts.
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from filters.anonymise_config import AnonymiseConfig
from filters.audio_edits import SILENCE, TONE
from filters.dedup.config import DedupConfig
from filters.label_config import LabelConfig, language_problem
from filters.pii import PiiConfig
from filters.quality_config import QualityConfig
from filters.ssl_speech import SslConfig
from filters.takedown import TakedownConfig
from pipelines.config_base import ConfigError, build
from pipelines.config_base import check as _check
from pipelines.crawl.config import WEB_SOURCE_TYPES, CrawlConfig

__all__ = ["ConfigError", "RunConfig", "build", "load_config", "parse_config"]


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class LocalSourceConfig:
    """Audio files on a local disk or an fsspec URL: a directory tree or a TSV/JSONL manifest."""

    name: str  # label used in manifests and reports; defaults to the path's base name
    type: str = "local"
    path: str = ""  # directory scanned recursively for audio (sidecar .txt/.vtt/.srt by stem)
    manifest: str = ""  # TSV or JSONL with columns audio, text and optional language
    language: str = ""  # declared language for every item of this source (ISO 639-1), optional
    licence: str = ""  # licence recorded on every segment of this source
    extensions: tuple[str, ...] = (
        ".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".webm", ".mp4",
    )  # which files count as audio when scanning a directory
    roots: tuple[str, ...] = ()  # more directories a manifest's paths may point into
    allow_outside_roots: bool = False  # let a manifest name any path (else path_outside_root)

    def validate(self, where: str) -> None:
        _check(bool(self.path) != bool(self.manifest), where,
               "give exactly one of `path` (a directory) or `manifest` (a TSV/JSONL file)")
        for i, root in enumerate(self.roots):
            _check(isinstance(root, str) and bool(root.strip()), f"{where}.roots[{i}]",
                   "must be a directory path (remove the empty entry)")


# Source type name -> config class. Other source families register here.
SOURCE_TYPES: dict[str, type] = {"local": LocalSourceConfig, **WEB_SOURCE_TYPES}


# --------------------------------------------------------------------------- stages


MAX_CONFIG_BYTES = 16 * 1024 * 1024  # a sources.yaml larger than this is refused
MAX_SECONDS = 7 * 24 * 3600.0  # upper bound of durations and timeouts (a deadline must fit a timer)
MAX_MB = 1024.0 * 1024  # upper bound of sizes given in MB (1 TiB)
# CTranslate2's compute types (https://opennmt.net/CTranslate2/quantization.html)
COMPUTE_TYPES = ("auto", "default", "int8", "int8_float16", "int8_float32", "int8_bfloat16",
                 "int16", "float16", "bfloat16", "float32")


def check_language(value: Any, where: str, region: bool = True) -> None:
    """A language code Whisper knows (ISO 639-1), or empty; ``region`` allows ``en-GB``."""
    problem = language_problem(value, region)
    _check(problem is None, where, f"{problem} (or leave it empty)")


@dataclass(frozen=True)
class DecodeConfig:
    """Decoding any common container/codec to 16 kHz mono float32."""

    max_bytes: int = 2 * 1024**3  # refuse files larger than this (reason too_large)
    max_duration_s: float = 4 * 3600.0  # refuse recordings longer than this (reason too_long)
    min_duration_s: float = 0.3  # recordings shorter than this are too_short
    timeout_s: float = 600.0  # a decode that takes longer is abandoned (reason decode_timeout)

    def validate(self, where: str) -> None:
        _check(self.max_bytes > 0, f"{where}.max_bytes", "must be > 0")
        _check(0 < self.max_duration_s <= MAX_SECONDS, f"{where}.max_duration_s",
               f"must be in (0, {MAX_SECONDS:.0f}] seconds (a week)")
        _check(0 <= self.min_duration_s < self.max_duration_s, f"{where}.min_duration_s",
               "must be >= 0 and below max_duration_s")
        _check(0 < self.timeout_s <= MAX_SECONDS, f"{where}.timeout_s",
               f"must be in (0, {MAX_SECONDS:.0f}] seconds (a week)")


@dataclass(frozen=True)
class SegmentConfig:
    """Voice-activity segmentation with webrtcvad into utterances of at most ``max_s``."""

    aggressiveness: int = 2  # webrtcvad mode 0 (least) .. 3 (most aggressive at calling non-speech)
    frame_ms: int = 30  # VAD frame length: 10, 20 or 30 ms
    min_speech_s: float = 0.5  # speech regions shorter than this are dropped as noise
    min_silence_s: float = 0.3  # a pause at least this long ends a speech region
    pad_s: float = 0.3  # silence kept around each region so words are not clipped
    max_s: float = 30.0  # hard ceiling on a segment (Whisper's window)
    target_s: float = 30.0  # regions are merged up to about this length, split at pauses beyond it
    min_segment_s: float = 1.0  # segments shorter than this are rejected (segment_too_short)
    respect_cues: bool = True  # with timed transcripts, cut only at cue boundaries

    def validate(self, where: str) -> None:
        _check(self.aggressiveness in (0, 1, 2, 3), f"{where}.aggressiveness", "must be 0..3")
        _check(self.frame_ms in (10, 20, 30), f"{where}.frame_ms", "must be 10, 20 or 30")
        _check(0 < self.max_s <= 30.0, f"{where}.max_s", "must be in (0, 30]")
        _check(0 < self.target_s <= self.max_s, f"{where}.target_s", "must be in (0, max_s]")
        _check(0 <= self.min_segment_s <= self.max_s, f"{where}.min_segment_s",
               "must be in [0, max_s] (longer would reject every segment)")
        _check(0 <= self.min_speech_s <= self.max_s, f"{where}.min_speech_s",
               "must be in [0, max_s] (longer would drop every region)")
        _check(0 < self.min_silence_s <= self.max_s, f"{where}.min_silence_s",
               "must be in (0, max_s]")
        _check(0 <= self.pad_s <= self.max_s, f"{where}.pad_s", "must be in [0, max_s]")


@dataclass(frozen=True)
class LidConfig:
    """Text language identification with fastText lid.176."""

    min_text_chars: int = 12  # shorter source texts are not identified (too little evidence)
    allowed_languages: tuple[str, ...] = ()  # keep only these languages (empty: keep all)

    def validate(self, where: str) -> None:
        _check(self.min_text_chars >= 0, f"{where}.min_text_chars", "must be >= 0")
        for i, code in enumerate(self.allowed_languages):
            _check(code != "", f"{where}.allowed_languages[{i}]", "remove the empty entry")
            check_language(code, f"{where}.allowed_languages[{i}]")


@dataclass(frozen=True)
class AsrConfig:
    """Whisper pseudo-labelling through faster-whisper / CTranslate2."""

    model: str = "base"  # tiny.en | base | a CTranslate2 model directory
    compute_type: str = "auto"  # CTranslate2 compute type; auto: int8 on CPU, float16 on GPU
    device: str = "auto"  # cpu | cuda | auto
    cpu_threads: int = 0  # 0: one thread per available core
    batch_size: int = 16  # segments per batch (across recordings), encoded in length buckets
    beam_size: int = 5  # beam width as in Whisper's paper; 1 = greedy: faster, ~2 WER points worse
    language: str = ""  # force a language for decoding; empty: detect, pooled per recording
    context_pad_s: float = 5.0  # silence after a segment in the encoder input (0: full 30 s window)
    hint_below_prob: float = 0.5  # pooled audio LID under this: decode in the transcript's language
    encoder_cache_mb: float = 256.0  # encoder outputs kept from LID to decoding; rest re-encoded
    word_times: bool = True  # word times of labels and source texts (needed by PII audio redaction)
    # also decode Whisper's X->en translation of recordings whose transcript is English and
    # whose audio is decoded in another language (translation-pair candidates, verified in
    # decide against curate.labels.translation); false leaves such pairs unverified
    translate: bool = True

    def validate(self, where: str) -> None:
        _check(bool(self.model), f"{where}.model", "must name a model")
        _check(self.compute_type in COMPUTE_TYPES, f"{where}.compute_type",
               f"must be one of CTranslate2's compute types: {', '.join(COMPUTE_TYPES)}; "
               f"got {self.compute_type!r}")
        check_language(self.language, f"{where}.language", region=False)
        english_only = self.model.rstrip("/").endswith(".en")
        _check(not english_only or self.language in ("", "en"), f"{where}.language",
               f"model {self.model} is English-only: use `en` or leave the language empty")
        _check(self.batch_size >= 1, f"{where}.batch_size", "must be >= 1")
        _check(self.beam_size >= 1, f"{where}.beam_size", "must be >= 1")
        _check(0 <= self.context_pad_s <= 30, f"{where}.context_pad_s", "must be in [0, 30]")
        _check(0 <= self.hint_below_prob <= 1, f"{where}.hint_below_prob", "must be in [0, 1]")
        _check(self.cpu_threads >= 0, f"{where}.cpu_threads", "must be >= 0")
        _check(0 <= self.encoder_cache_mb <= MAX_MB, f"{where}.encoder_cache_mb",
               f"must be in [0, {MAX_MB:.0f}]")
        _check(self.device in ("cpu", "cuda", "auto"), f"{where}.device", "must be cpu|cuda|auto")


@dataclass(frozen=True)
class ShardConfig:
    """WebDataset shard writing."""

    target_size_mb: float = 256.0  # a shard (and an analysis audio pack) closes at about this size
    writers: int = 4  # unused since shards are planned globally; kept so old configs still load
    flac_compression: int = 5  # FLAC compression level 0..8 (applied once, when analysed)

    def validate(self, where: str) -> None:
        _check(0 < self.target_size_mb <= MAX_MB, f"{where}.target_size_mb",
               f"must be in (0, {MAX_MB:.0f}]")
        _check(self.writers >= 1, f"{where}.writers", "must be >= 1")
        _check(0 <= self.flac_compression <= 8, f"{where}.flac_compression", "must be 0..8")


@dataclass(frozen=True)
class PrivacyConfig:
    """PII in labels and audio (filters/redaction.py): found in decide, removed in publish."""

    pii: PiiConfig = field(default_factory=PiiConfig)  # detector and per-type action (filters/pii)
    audio: str = SILENCE  # what replaces a redacted span's audio: silence | tone (1 kHz, -20 dBFS)
    fade_ms: float = 10.0  # cross-fade at each edge of an edited span, taken from inside the span
    margin_ms: float = 150.0  # each redacted span widened by this before and after its words

    def validate(self, where: str) -> None:
        _check(self.audio in (SILENCE, TONE), f"{where}.audio",
               f"must be {SILENCE} or {TONE}; got {self.audio!r}")
        _check(0 <= self.fade_ms <= 100, f"{where}.fade_ms", "must be in [0, 100] ms")
        _check(0 <= self.margin_ms <= 2000, f"{where}.margin_ms", "must be in [0, 2000] ms")
        _check(self.fade_ms <= self.margin_ms, f"{where}.fade_ms",
               "must be <= margin_ms (the fade lies in the margin, never on a redacted word)")


@dataclass(frozen=True)
class CurateConfig:
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    lid: LidConfig = field(default_factory=LidConfig)
    asr: AsrConfig = field(default_factory=AsrConfig)
    labels: LabelConfig = field(default_factory=LabelConfig)  # label policy (filters/label_config)
    quality: QualityConfig = field(default_factory=QualityConfig)  # filters/quality_config.py
    dedup: DedupConfig = field(default_factory=DedupConfig)  # filters/dedup/config.py
    shards: ShardConfig = field(default_factory=ShardConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)  # PII redaction (decide, publish)
    anonymise: AnonymiseConfig = field(default_factory=AnonymiseConfig)  # voices (publish)
    # recordings never published (filters/takedown.py); `speechcurate takedown` adds rules in
    # RUN/takedown/rules.jsonl, which every later run, curate and refilter of RUN merges in
    takedown: TakedownConfig = field(default_factory=TakedownConfig)
    # label-untrusted clean speech as audio-only shards in RUN/ssl/ (filters/ssl_speech.py)
    ssl: SslConfig = field(default_factory=SslConfig)


@dataclass(frozen=True)
class RunConfig:
    sources: tuple[Any, ...]
    curate: CurateConfig = field(default_factory=CurateConfig)
    crawl: CrawlConfig = field(default_factory=CrawlConfig)


# --------------------------------------------------------------------------- building


def _against(base_dir: Path | str, value: str) -> str:
    """``value`` (relative) resolved against the config's directory: a local path, or an fsspec
    URL's directory when the config itself was read from a URL."""
    if isinstance(base_dir, str) and "://" in base_dir:
        scheme, rest = base_dir.split("://", 1)
        return f"{scheme}://{posixpath.normpath(posixpath.join(rest, value))}"
    return str((Path(base_dir) / value).resolve())


def _build_source(data: Any, where: str, base_dir: Path | str) -> Any:
    _check(isinstance(data, dict), where, "each source must be a mapping with a `type`")
    kind = data.get("type")
    _check(kind in SOURCE_TYPES, f"{where}.type",
           f"unknown source type {kind!r}; expected one of: {', '.join(sorted(SOURCE_TYPES))}")
    data = dict(data)
    for key in ("path", "manifest"):
        value = data.get(key)
        is_relative = isinstance(value, str) and value and "://" not in value
        if is_relative and not Path(value).is_absolute():
            data[key] = _against(base_dir, value)
    roots = data.get("roots")
    if isinstance(roots, list):
        data["roots"] = [_against(base_dir, r) if isinstance(r, str) and r.strip()
                         and "://" not in r and not Path(r).is_absolute() else r for r in roots]
    if not data.get("name"):
        ref = data.get("path") or data.get("manifest") or data.get("url") or f"source{where}"
        data["name"] = Path(str(ref).rstrip("/")).name or str(ref)
    source = build(SOURCE_TYPES[kind], data, where)
    if hasattr(source, "language"):  # every source family's declared language
        check_language(source.language, f"{where}.language")
    return source


def _resolve_dedup_paths(cfg: DedupConfig, base_dir: Path | str) -> DedupConfig:
    """Eval-set paths and ``against`` runs resolve from the config file's directory."""

    def resolved(path: str) -> str:
        if "://" in path or Path(path).is_absolute():
            return path
        if isinstance(base_dir, str) and "://" in base_dir:
            return f"{base_dir.rstrip('/')}/{path}"
        return str((Path(base_dir) / path).resolve())

    evals = tuple(dataclasses.replace(e, path=resolved(e.path)) for e in cfg.eval_sets)
    for i, ev in enumerate(evals):
        _check(Path(ev.path).exists(), f"curate.dedup.eval_sets[{i}].path",
               f"{ev.path} does not exist")
    return dataclasses.replace(cfg, eval_sets=evals,
                               against=tuple(resolved(r) for r in cfg.against))


def parse_config(data: Any, base_dir: Path | str | None = None) -> RunConfig:
    """Validate a parsed YAML document into a RunConfig. Relative paths resolve from base_dir
    (a local directory, or the URL of the directory a remote config was read from)."""
    base_dir = base_dir or Path.cwd()
    _check(isinstance(data, dict), "config", "must be a mapping with a `sources` list")
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(RunConfig)})
    _check(not unknown, f"{unknown[0] if unknown else ''}", "unknown top-level field")
    sources = data.get("sources")
    _check(isinstance(sources, list) and len(sources) > 0, "sources",
           "must be a non-empty list of sources")
    built = tuple(_build_source(s, f"sources[{i}]", base_dir) for i, s in enumerate(sources))
    names = [s.name for s in built]
    dupes = sorted({n for n in names if names.count(n) > 1})
    _check(not dupes, "sources", f"source names must be unique; repeated: {', '.join(dupes)}")
    curate = build(CurateConfig, data.get("curate"), "curate")
    curate = dataclasses.replace(curate, dedup=_resolve_dedup_paths(curate.dedup, base_dir))
    crawl = build(CrawlConfig, data.get("crawl"), "crawl")
    return RunConfig(sources=built, curate=curate, crawl=crawl)


def load_config(path: str | Path) -> RunConfig:
    """Read and validate ``sources.yaml`` from a local path or an fsspec URL (``gs://``,
    ``s3://``: a Dataflow flex template hands the launcher a bucket path); relative paths in it
    resolve from its directory. Errors name the file and the field."""
    from pipelines import io as sio

    text = str(path)
    remote = "://" in text and not text.startswith("file://")
    local = Path(text.removeprefix("file://"))
    try:
        if remote:
            raw = sio.read_bytes(text, MAX_CONFIG_BYTES)
        elif local.is_file():
            raw = local.read_bytes()
        else:
            raise FileNotFoundError(text)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc})") from exc
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    base_dir: Path | str = posixpath.dirname(text) if remote else local.parent
    try:
        return parse_config(data, base_dir=base_dir)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
