"""``curate.dedup``: every dedup setting in one frozen dataclass (pure; ``validate`` raises
``ValueError`` naming the field, the run config turns it into a ``ConfigError``).

Analyse-time fields (``num_perm``, ``seed``, ``shingle``, ``shingle_size``) change the stored
signatures and are guarded by ``pipelines/analysis_store.py``; every other field is a decide-time
choice that ``speechcurate refilter`` replays over thin rows in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from filters.config_checks import checker, need_finite_floats

MODES = ("drop", "flag", "off")
SHINGLES = ("chars", "words")
ANALYSE_FIELDS = ("num_perm", "seed", "shingle", "shingle_size")


@dataclass(frozen=True)
class EvalSet:
    """A user-supplied evaluation set whose text must not appear in the training data."""

    name: str  # shown in the reject detail, stats.json and the report
    path: str  # a .txt (one utterance per line; LibriSpeech *.trans.txt: "ID text"), a .tsv
    #            (FLEURS/Common Voice: column `column`), or a directory of such files
    column: str = ""  # TSV column with the text; empty: the first of transcription,
    #                   raw_transcription, sentence, text, normalized_text that exists


@dataclass(frozen=True)
class DedupConfig:
    """Exact, near-duplicate audio and text deduplication, eval decontamination, across runs."""

    mode: str = "drop"  # drop duplicates | flag them (kept, a passed verdict) | off
    # --- near-duplicate audio (fingerprints computed in analyse by filters/audio_fingerprint)
    audio: bool = True  # cluster segments whose audio fingerprints match; keep one per cluster
    audio_min_similarity: float = 0.0  # 0: the fingerprint module's default for is_near_duplicate
    audio_min_covered: float = 0.0  # 0: the fingerprint module's default for is_near_duplicate
    # --- near-duplicate text (MinHash over normalised transcripts, computed in analyse)
    text: bool = True  # cluster segments whose transcripts are near-identical; cap the copies
    num_perm: int = 128  # MinHash permutations (signature = 4 * num_perm bytes); analyse-time
    seed: int = 1  # MinHash seed; analyse-time (signatures of two seeds never compare)
    shingle: str = "chars"  # chars: character n-grams (robust on short transcripts) | words
    shingle_size: int = 5  # n of the shingles (characters or words); analyse-time
    bands: int = 20  # LSH bands; a pair is a candidate when all rows of one band agree
    rows: int = 6  # rows per band; bands * rows <= num_perm. S-curve 1-(1-J^rows)^bands:
    #                P(J=0.5)=0.27, 0.6=0.62, 0.7=0.91, 0.8=0.998 (benchmarks/dedup.py)
    text_threshold: float = 0.6  # candidates are linked when their estimated Jaccard >= this
    min_text_words: int = 4  # shorter transcripts ("thank you", "yes") are never text duplicates
    max_text_copies: int = 5  # text near-duplicates with different audio kept per cluster
    #                           (different readings of the same words are valuable; sponsor reads
    #                           and jingles beyond this are repeated_text)
    # --- clustering at scale
    bucket_all_pairs: int = 3  # a bucket up to this size proposes all its pairs; a larger one
    #                            a star around its smallest member (linear in its size)
    cc_rounds: int = 3  # large-star/small-star rounds in the Beam graph; what has not converged
    #                     after them (logged) is finished by a union-find on one worker
    # --- eval-set decontamination
    eval_sets: tuple[EvalSet, ...] = ()  # segments overlapping these texts drop as eval_overlap
    eval_ngram: int = 8  # word n-gram size for the overlap (texts shorter use all their words)
    eval_min_overlap: float = 0.5  # drop when this share of an eval utterance's n-grams (or of
    #                                the segment's) is found in the other
    # --- across runs
    against: tuple[str, ...] = ()  # earlier run directories: their kept segments' thin index
    #                                (RUN/dedup/index/) is held; copies of it are not admitted

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def validate(self, where: str = "curate.dedup") -> None:
        need = checker(where)
        need_finite_floats(self, need)
        need(self.mode in MODES, "mode", f"must be one of {', '.join(MODES)}; got {self.mode!r}")
        need(self.shingle in SHINGLES, "shingle",
             f"must be one of {', '.join(SHINGLES)}; got {self.shingle!r}")
        need(1 <= self.shingle_size <= 64, "shingle_size", "must be in [1, 64]")
        need(16 <= self.num_perm <= 1024, "num_perm", "must be in [16, 1024]")
        need(0 <= self.seed < 2**32, "seed", "must be in [0, 2**32)")
        need(1 <= self.bands <= self.num_perm, "bands", "must be in [1, num_perm]")
        need(1 <= self.rows <= self.num_perm, "rows", "must be in [1, num_perm]")
        need(self.bands * self.rows <= self.num_perm, "bands",
             f"bands * rows ({self.bands} * {self.rows}) must be <= num_perm ({self.num_perm})")
        need(0 < self.text_threshold <= 1, "text_threshold", "must be in (0, 1]")
        need(0 <= self.audio_min_similarity <= 1, "audio_min_similarity", "must be in [0, 1]")
        need(0 <= self.audio_min_covered <= 1, "audio_min_covered", "must be in [0, 1]")
        need(self.min_text_words >= 1, "min_text_words", "must be >= 1")
        need(self.max_text_copies >= 1, "max_text_copies",
             "must be >= 1 (a text cluster always keeps at least one copy)")
        need(self.bucket_all_pairs >= 2, "bucket_all_pairs", "must be >= 2")
        need(0 <= self.cc_rounds <= 64, "cc_rounds", "must be in [0, 64]")
        need(self.eval_ngram >= 1, "eval_ngram", "must be >= 1")
        need(0 < self.eval_min_overlap <= 1, "eval_min_overlap", "must be in (0, 1]")
        names = [e.name for e in self.eval_sets]
        for i, ev in enumerate(self.eval_sets):
            need(bool(ev.name.strip()), f"eval_sets[{i}].name", "must name the eval set")
            need(bool(ev.path.strip()), f"eval_sets[{i}].path", "must be a file or directory")
            need(names.count(ev.name) == 1, f"eval_sets[{i}].name",
                 f"eval set names must be unique; {ev.name!r} repeats")
        for i, run in enumerate(self.against):
            need(bool(run.strip()), f"against[{i}]", "must be a run directory")
