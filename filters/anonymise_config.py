"""Voice anonymisation settings (``curate.anonymise``) and the draw of each voice's McAdams α.

Pure (no pipelines import): ``validate`` raises ``ValueError`` naming the field and the run config
machinery wraps it into a ``ConfigError``. Nothing here changes what analyse measures, so these
settings are decide/publish-time only: ``speechcurate refilter`` turns anonymisation on or off,
or redraws α with another seed, without touching the analysis.

Why a range of α by default, not VoicePrivacy 2020's fixed 0.8: with one α for the whole corpus a
"lazy-informed" attacker (who anonymises their own enrolment recordings with the published
method) uses exactly the α of every trial and so is semi-informed, the weakest setting of
McAdams (VoicePrivacy 2024 B2: ~6 % EER). Drawing α per voice from [0.75, 0.9] makes that
attacker's α a guess; 0.75 bounds the artefacts (and the WER cost) of strong warping, 0.9 keeps a
real change of the formants (α = 1 is the identity). ``benchmarks/privacy.py`` measures both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from filters.config_checks import checker, need_finite_floats

ALPHA_PER = ("recording", "source")
ALPHA_LOW, ALPHA_HIGH = 0.5, 1.5  # allowed α: beyond these the warped speech is unusable


@dataclass(frozen=True)
class AnonymiseConfig:
    """McAdams-coefficient voice anonymisation of published audio (VoicePrivacy baseline B2)."""

    enabled: bool = False  # anonymise the voices of kept shards' audio and of reject samples
    alpha_min: float = 0.75  # α is drawn uniformly in [alpha_min, alpha_max] per voice ...
    alpha_max: float = 0.9  # ... (equal bounds: one fixed α, e.g. B2-2020's 0.8; 1 = identity)
    seed: int = 0  # mixed into the hash that draws α: another seed draws new α for every voice
    alpha_per: str = "recording"  # whose voice shares an α: each "recording", or each "source"
    #                               (a source holding one speaker, e.g. a single-host podcast)
    publish_alpha: bool = True  # write α into shard JSON and manifests (trainers see it); false
    #                             keeps it in the plan only: a published α tells an attacker which
    #                             α to anonymise enrolment speech with (the semi-informed attack)

    def validate(self, where: str) -> None:
        need = checker(where)
        need_finite_floats(self, need)
        need(ALPHA_LOW <= self.alpha_min <= ALPHA_HIGH, "alpha_min",
             f"must be in [{ALPHA_LOW}, {ALPHA_HIGH}] (B2 uses 0.75-0.9; 1 changes nothing)")
        need(self.alpha_min <= self.alpha_max <= ALPHA_HIGH, "alpha_max",
             f"must be in [alpha_min, {ALPHA_HIGH}]")
        need(0 <= self.seed < 2**32, "seed", "must be in [0, 2^32)")
        need(self.alpha_per in ALPHA_PER, "alpha_per",
             f"must be one of {', '.join(ALPHA_PER)}; got {self.alpha_per!r}")


def alpha_for(voice: str, config: AnonymiseConfig) -> float:
    """The α of ``voice`` (a recording id or a source name): uniform in the configured range,
    a pure function of (seed, voice), so a rerun, a refilter or another worker draws the same."""
    digest = hashlib.sha256(f"mcadams:{config.seed}:{voice}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return round(config.alpha_min + u * (config.alpha_max - config.alpha_min), 6)


def voice_key(row: dict, config: AnonymiseConfig) -> str:
    """Which voice a segment or reject row belongs to, as ``alpha_per`` says."""
    if config.alpha_per == "source":
        return f"source:{row.get('source_name') or ''}"
    return f"recording:{row.get('recording_id') or ''}"


def anonymise_stats(segments: list[dict], config: AnonymiseConfig) -> dict:
    """What ``stats.json`` (and the report's Privacy section) says about anonymisation."""
    alphas = [s["anonymise_alpha"] for s in segments if s.get("anonymise_alpha") is not None]
    return {"enabled": config.enabled, "method": "mcadams (VoicePrivacy B2)",
            "alpha_range": [config.alpha_min, config.alpha_max], "alpha_per": config.alpha_per,
            "alpha_published": config.publish_alpha, "segments": len(alphas),
            "voices": len({voice_key(s, config) for s in segments
                           if s.get("anonymise_alpha") is not None}),
            "alpha_mean": round(sum(alphas) / len(alphas), 4) if alphas else None}
