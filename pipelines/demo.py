"""``make demo``: synthesise a small multilingual corpus with espeak-ng, publish it as a small
website (podcast feed, pages, captions, robots.txt) on 127.0.0.1, crawl it and curate it.

The corpus has real (synthesised) speech in four languages, each file built from separately
spoken sentences so its WebVTT/SRT cues are exact; audio in several codecs; a plain-text,
a VTT, an SRT and a missing transcript; a music-like non-speech file; and a corrupt file. The
point is to show every path of the pipeline, including rejects, in a couple of minutes on a laptop.
"""

from __future__ import annotations

import argparse
import io
import logging
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
GAP_S = 0.6


@dataclass(frozen=True)
class DemoItem:
    stem: str
    voice: str  # espeak-ng voice
    language: str
    sentences: tuple[str, ...]
    codec: str  # output container: wav, flac, mp3, ogg (vorbis), opus, m4a (aac), webm
    transcript: str  # txt, vtt, srt or "" (no transcript)
    speed: int = 150  # espeak-ng words per minute


ITEMS = (
    DemoItem("en_lecture", "en-us", "en", (
        "Speech recognition turns spoken language into written text.",
        "Large training sets are collected from many public sources on the web.",
        "Every utterance needs a transcript that matches what was actually said.",
    ), "flac", "vtt"),
    DemoItem("en_news", "en", "en", (
        "The weather today will be sunny with a light breeze from the west.",
        "Tomorrow brings clouds in the morning and rain in the afternoon.",
    ), "mp3", "txt"),
    DemoItem("en_untranscribed", "en-us", "en", (
        "This recording comes without any transcript at all.",
        "The pipeline still labels it with the Whisper model.",
    ), "m4a", ""),
    DemoItem("es_cuento", "es", "es", (
        "Había una vez un pequeño pueblo al lado de un río muy largo.",
        "Los niños jugaban cada tarde cerca del puente de piedra.",
    ), "ogg", "srt"),
    DemoItem("de_bericht", "de", "de", (
        "Der Zug nach Berlin fährt heute von Gleis drei ab.",
        "Bitte achten Sie auf die Durchsagen am Bahnsteig.",
    ), "opus", "vtt"),
    DemoItem("fr_meteo", "fr", "fr", (
        "Le temps sera ensoleillé sur toute la côte atlantique.",
        "Des orages sont possibles en soirée dans les montagnes.",
    ), "webm", "txt"),
)


def espeak(text: str, voice: str, speed: int = 150) -> np.ndarray:
    """Synthesise ``text`` with espeak-ng and return 16 kHz mono float32."""
    import soundfile as sf

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed: run `make demo` as root, or "
                           "`sudo apt-get install espeak-ng`")
    wav = subprocess.run([exe, "-v", voice, "-s", str(speed), "--stdout", text], check=True,
                         capture_output=True, timeout=60).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    return resample(samples, rate)


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return samples.astype(np.float32)
    from scipy.signal import resample_poly

    g = np.gcd(rate, SAMPLE_RATE)
    return resample_poly(samples, SAMPLE_RATE // g, rate // g).astype(np.float32)


def encode(samples: np.ndarray, path: Path, codec: str) -> None:
    """Write ``samples`` in the given container/codec with PyAV (soundfile for wav/flac)."""
    import av
    import soundfile as sf

    if codec in ("wav", "flac"):
        sf.write(path, samples, SAMPLE_RATE)
        return
    codec_name, rate, fmt = {
        "mp3": ("libmp3lame", 16000, "mp3"), "ogg": ("libopus", 48000, "ogg"),
        "opus": ("libopus", 48000, "ogg"), "m4a": ("aac", 16000, "mp4"),
        "webm": ("libopus", 48000, "webm"), "opus8k": ("libopus", 48000, "ogg"),
    }[codec]
    if rate != SAMPLE_RATE:
        samples = _upsample(samples, rate)
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec_name, rate=rate, layout="mono")
        if codec == "opus8k":  # a low-bitrate re-encode (the copy the dedup stage must find)
            stream.bit_rate = 8_000
        frame_len = 960 if codec_name == "libopus" else 1024
        for i in range(0, len(pcm), frame_len):
            chunk = pcm[i:i + frame_len]
            if len(chunk) < frame_len:
                chunk = np.pad(chunk, (0, frame_len - len(chunk)))
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _upsample(samples: np.ndarray, rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    g = np.gcd(rate, SAMPLE_RATE)
    return resample_poly(samples, rate // g, SAMPLE_RATE // g).astype(np.float32)


def _ts(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def write_transcript(path: Path, fmt: str, cues: list[tuple[float, float, str]]) -> None:
    if fmt == "txt":
        path.write_text(" ".join(c[2] for c in cues) + "\n", encoding="utf-8")
    elif fmt == "vtt":
        body = "\n".join(f"{_ts(a, '.')} --> {_ts(b, '.')}\n{t}\n" for a, b, t in cues)
        path.write_text("WEBVTT\n\n" + body, encoding="utf-8")
    elif fmt == "srt":
        body = "\n".join(f"{i}\n{_ts(a, ',')} --> {_ts(b, ',')}\n{t}\n"
                         for i, (a, b, t) in enumerate(cues, start=1))
        path.write_text(body, encoding="utf-8")


def synthesise(item: DemoItem) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Speak each sentence separately and join them with pauses; cues are exact."""
    parts, cues, t = [np.zeros(int(0.3 * SAMPLE_RATE), np.float32)], [], 0.3
    for sentence in item.sentences:
        clip = espeak(sentence, item.voice, item.speed)
        cues.append((round(t, 3), round(t + len(clip) / SAMPLE_RATE, 3), sentence))
        parts += [clip, np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)]
        t += len(clip) / SAMPLE_RATE + GAP_S
    return np.concatenate(parts), cues


SPONSOR = "This show is supported by the city library, which lends books to everyone for free."


@dataclass(frozen=True)
class Planted:
    """One demo case with a known outcome: the stage that acts on it and what it does."""

    stem: str  # audio file stem in the corpus (or the URL path for crawl cases)
    stage: str  # the funnel stage that decides it
    outcome: str  # "kept", or the reason code of the drop
    what: str  # one line for the newcomer: what the case shows
    segment: int | None = None  # for segment cases: the segment's index in its recording
    #                             (None: every segment of the recording)


# Episodes added to ITEMS for the demo: each plants one case for one stage.
PLANTED_ITEMS = (
    DemoItem("en_tech", "en-gb-x-rp", "en", (
        SPONSOR,
        "Today we look at how a microphone turns sound into numbers.",
        "Each number is one sample of the air pressure.",
    ), "wav", "vtt"),
    DemoItem("en_garden", "en-gb-scotland", "en", (
        SPONSOR,
        "Tomatoes need at least six hours of sun every day.",
        "Water them early in the morning, before it gets hot.",
    ), "flac", "srt"),
    DemoItem("en_contact", "en-us", "en", (
        "Thanks for listening to the show, and see you next week.",
        "Please call John Smith on five five five, one two three, four five six seven. "
        "His email is john at gmail dot com.",
    ), "wav", "txt"),
    DemoItem("en_quiet", "en-029", "en", (
        "This episode was recorded far away from the microphone.",
        "It is very quiet, but every word is clear.",
    ), "flac", "vtt"),
    DemoItem("en_clipped", "en-gb-x-gbclan", "en", (
        "The volume of this episode was turned up far too much.",
        "All of its loudest sounds are cut off flat.",
    ), "mp3", "txt"),
    DemoItem("en_noisy", "en-us", "en", (
        "This episode was recorded next to a very loud fan.",
        "You can hear it behind every word.",
    ), "wav", "txt"),
    DemoItem("es_mercado", "es+m3", "es", (  # this voice, slower: Whisper base is ~80 % sure
        "El mercado abre todos los sábados por la mañana.",
        "Allí venden fruta, verduras y pan recién hecho.",
    ), "ogg", "txt", speed=120),
)
# Transcripts written as a person would type them, where that differs from what is spoken.
WRITTEN = {
    "en_contact": (
        "Thanks for listening to the show, and see you next week.",
        "Please call John Smith on 555-123-4567. His email is john@gmail.com.",
    ),
}
# The English text published beside the Spanish audio of es_mercado: a real translation.
TRANSLATIONS = {
    "es_mercado": "The market opens every Saturday morning. "
                  "There they sell fruit, vegetables and freshly made bread.",
}
QUIET_PEAK_DBFS = -45.0  # en_quiet's level: a far microphone (the loudest item peaks near -3)
CLIP_GAIN = 4.0  # en_clipped: amplified 4 times, then clipped at full scale (~4% of samples)
NOISE_SNR_DB = 10.0  # en_noisy: white noise 10 dB below the speech (DNSMOS OVRL ~1.8)

PLANTED = (
    Planted("members/", "crawl", "robots_disallowed",
            "robots.txt disallows /members/: never fetched"),
    Planted("partners/", "crawl", "opted_out",
            "the site owner opted /partners/ out (crawl.opt_out): never fetched"),
    Planted("media/mirror/", "crawl", "duplicate",
            "the same episode under a second URL: fetched once"),
    Planted("corrupt", "decode", "corrupt_audio", "bytes that are not audio"),
    Planted("music_no_speech", "label", "hallucination",
            "music without speech: Whisper hears no speech in it"),
    Planted("en_news_lowbitrate", "dedup", "near_duplicate_audio",
            "en_news re-encoded at 8 kbit/s under another name: the original kept"),
    Planted("en_lecture_trimmed", "dedup", "near_duplicate_audio",
            "en_lecture with its first seconds cut: contained in the original"),
    Planted("en_garden", "dedup", "repeated_text",
            "the sponsor read again by another voice (dedup.max_text_copies: 1)", 0),
    Planted("en_tech", "dedup", "kept",
            "the first copy of the sponsor read is kept", 0),
    Planted("en_contact", "privacy", "redacted",
            "a spoken phone number, e-mail and name: placeholders in the text, audio muted", 1),
    Planted("en_clipped", "quality", "clipping", "amplified 4 times: its peaks clipped flat"),
    Planted("en_noisy", "quality", "low_dnsmos", "loud fan noise, 10 dB below the voice"),
    Planted("en_quiet", "quality", "kept", "45 dB below full scale, clean: kept whole"),
    Planted("es_mercado", "label", "translate",
            "Spanish audio with an English text: kept as a translation pair (task translate)"),
)


def _scale_to_peak(samples: np.ndarray, peak_dbfs: float) -> np.ndarray:
    peak = float(np.max(np.abs(samples))) or 1.0
    return (samples * (10 ** (peak_dbfs / 20) / peak)).astype(np.float32)


def _with_noise(samples: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    speech_rms = float(np.sqrt(np.mean(samples[np.abs(samples) > 1e-3] ** 2)))
    noise = rng.standard_normal(len(samples)).astype(np.float32)
    noise *= speech_rms / 10 ** (snr_db / 20)
    mixed = samples + noise
    return (mixed / max(1.0, float(np.max(np.abs(mixed))) / 0.9)).astype(np.float32)


def _planted_audio(item: DemoItem, audio: np.ndarray) -> np.ndarray:
    if item.stem == "en_quiet":
        return _scale_to_peak(audio, QUIET_PEAK_DBFS)
    if item.stem == "en_clipped":
        return np.clip(audio * CLIP_GAIN, -1.0, 1.0).astype(np.float32)
    if item.stem == "en_noisy":
        return _with_noise(audio, NOISE_SNR_DB, seed=7)
    return audio


def make_demo_corpus(directory: Path, items: tuple[DemoItem, ...] = ITEMS,
                     planted: bool = False) -> list[Path]:
    """Write the demo corpus into ``directory``; returns the audio files written.

    With ``planted``, also the cases of :data:`PLANTED`: extra episodes, a re-encoded and a
    trimmed copy of two episodes, and an English translation beside a Spanish episode.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    spoken: dict[str, np.ndarray] = {}
    for item in items + (PLANTED_ITEMS if planted else ()):
        audio, cues = synthesise(item)
        audio = _planted_audio(item, audio)
        spoken[item.stem] = audio
        path = directory / f"{item.stem}.{item.codec}"
        encode(audio, path, item.codec)
        if item.stem in TRANSLATIONS:
            (directory / f"{item.stem}.txt").write_text(TRANSLATIONS[item.stem] + "\n",
                                                        encoding="utf-8")
        elif item.transcript:
            if item.stem in WRITTEN:
                cues = [(a, b, text) for (a, b, _), text in zip(cues, WRITTEN[item.stem],
                                                                 strict=True)]
            write_transcript(directory / f"{item.stem}.{item.transcript}", item.transcript, cues)
        written.append(path)
    if planted:  # copies without transcripts: only the audio says they are the same episode
        encode(spoken["en_news"], directory / "en_news_lowbitrate.opus", "opus8k")
        trimmed = spoken["en_lecture"][int(2.5 * SAMPLE_RATE):]
        encode(trimmed, directory / "en_lecture_trimmed.wav", "wav")
        written += [directory / "en_news_lowbitrate.opus", directory / "en_lecture_trimmed.wav"]
    rng = np.random.default_rng(0)
    t = np.arange(int(8 * SAMPLE_RATE)) / SAMPLE_RATE
    chords = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    music = (chords * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))).astype(np.float32)
    encode(music, directory / "music_no_speech.wav", "wav")
    written.append(directory / "music_no_speech.wav")
    corrupt = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    (directory / "corrupt.mp3").write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + corrupt)
    written.append(directory / "corrupt.mp3")
    return written


# The demo's curate settings, with why: the corpus is espeak-ng speech, which scores lower on
# DNSMOS than people do and which Whisper base identifies less surely than real speech.
DEMO_CURATE = """\
curate:
  asr:
    model: {model}
    batch_size: 4
  segment:
    target_s: 5  # a sentence or two per segment, so a repeated sponsor read is its own segment
  labels:
    min_translation_audio_prob: 0.7  # espeak-ng's Spanish: Whisper base is ~80 % sure of it
  quality:
    min_dnsmos_ovrl: {min_dnsmos}  # espeak-ng speech scores 2.5-3.3 (people: 3-4); noise ~1.8
    tier_high_dnsmos: 3.0
    tier_medium_dnsmos: 2.6
    tier_high_snr_db: 15
    tier_medium_snr_db: 8
  dedup:
    max_text_copies: 1  # one read of a repeated sentence is enough here (default 5)
  shards:
    target_size_mb: 1
  ssl:
    enabled: true  # clean speech dropped only for its label also goes to RUN/ssl/ (audio only)
    reasons: [label_disagreement, label_incomplete, lid_low_confidence, lid_mismatch,
              machine_transcript, translation_mismatch, unaligned_text,
              low_asr_confidence]  # + Whisper base unsure of espeak-ng's French: clean audio
"""
STRICT_DNSMOS = 2.9  # the "try next" refilter: a cut that drops the weaker espeak-ng voices


def write_config(path: Path, corpus: Path, model: str = "base", site_url: str = "",
                 min_dnsmos: float = 2.0) -> Path:
    """The demo's sources.yaml: the demo website at ``site_url`` (crawled), else the folder."""
    if site_url:
        from pipelines.crawl.demo_site import demo_sources_yaml

        sources = demo_sources_yaml(site_url)
    else:
        sources = ("# Demo sources: a local folder of audio with sidecar transcripts.\n"
                   "sources:\n"
                   f"  - name: demo\n    type: local\n    path: {corpus}\n    licence: CC0-1.0\n")
    path.write_text(sources + DEMO_CURATE.format(model=model, min_dnsmos=min_dnsmos),
                    encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/demo", help="run directory (default runs/demo)")
    parser.add_argument("--asr-model", default="base", help="tiny.en | base | CTranslate2 dir")
    args, beam_args = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("apache_beam", "faster_whisper", "root"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    started = time.monotonic()
    out = Path(args.out).resolve()
    corpus = out.parent / f"{out.name}-corpus"
    print(f"demo: synthesising a corpus with espeak-ng into {corpus}")
    if corpus.exists():
        shutil.rmtree(corpus)
    files = make_demo_corpus(corpus, planted=True)
    print(f"demo: {len(files)} audio files, {len(PLANTED)} planted cases; curating into {out}")
    from pipelines.cli import main as cli_main
    from pipelines.crawl.demo_site import serve_demo_site
    from pipelines.demo_summary import render

    with serve_demo_site(corpus) as site:  # a real crawl of a local website
        print(f"demo: serving the demo website at {site.base}/index.html; crawling it")
        config = write_config(out.parent / f"{out.name}-sources.yaml", corpus, args.asr_model,
                              site_url=site.base)
        strict = write_config(out.parent / f"{out.name}-strict.yaml", corpus, args.asr_model,
                              site_url=site.base, min_dnsmos=STRICT_DNSMOS)
        code = cli_main(["run", "--config", str(config), "--out", str(out), "--force",
                         *beam_args])
    if code == 0:
        print(render(out, strict, PLANTED, time.monotonic() - started))
    return code


if __name__ == "__main__":
    sys.exit(main())
