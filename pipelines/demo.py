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


def espeak(text: str, voice: str) -> np.ndarray:
    """Synthesise ``text`` with espeak-ng and return 16 kHz mono float32."""
    import soundfile as sf

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed: run `make demo` as root, or "
                           "`sudo apt-get install espeak-ng`")
    wav = subprocess.run([exe, "-v", voice, "-s", "150", "--stdout", text], check=True,
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
        "webm": ("libopus", 48000, "webm"),
    }[codec]
    if rate != SAMPLE_RATE:
        samples = _upsample(samples, rate)
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec_name, rate=rate, layout="mono")
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
        clip = espeak(sentence, item.voice)
        cues.append((round(t, 3), round(t + len(clip) / SAMPLE_RATE, 3), sentence))
        parts += [clip, np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)]
        t += len(clip) / SAMPLE_RATE + GAP_S
    return np.concatenate(parts), cues


def make_demo_corpus(directory: Path, items: tuple[DemoItem, ...] = ITEMS) -> list[Path]:
    """Write the demo corpus into ``directory``; returns the audio files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for item in items:
        audio, cues = synthesise(item)
        path = directory / f"{item.stem}.{item.codec}"
        encode(audio, path, item.codec)
        if item.transcript:
            write_transcript(directory / f"{item.stem}.{item.transcript}", item.transcript, cues)
        written.append(path)
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


def write_config(path: Path, corpus: Path, model: str = "base", site_url: str = "") -> Path:
    """The demo's sources.yaml: the demo website at ``site_url`` (crawled), else the folder."""
    if site_url:
        from pipelines.crawl.demo_site import demo_sources_yaml

        sources = demo_sources_yaml(site_url)
    else:
        sources = ("# Demo sources: a local folder of audio with sidecar transcripts.\n"
                   "sources:\n"
                   f"  - name: demo\n    type: local\n    path: {corpus}\n    licence: CC0-1.0\n")
    path.write_text(
        sources
        + "curate:\n"
        f"  asr:\n    model: {model}\n    batch_size: 4\n"
        "  shards:\n    target_size_mb: 1\n",
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
    out = Path(args.out).resolve()
    corpus = out.parent / f"{out.name}-corpus"
    print(f"demo: synthesising a corpus with espeak-ng into {corpus}")
    if corpus.exists():
        shutil.rmtree(corpus)
    files = make_demo_corpus(corpus)
    print(f"demo: {len(files)} audio files; curating into {out}")
    from pipelines.cli import main as cli_main
    from pipelines.crawl.demo_site import serve_demo_site

    with serve_demo_site(corpus) as site:  # a real crawl of a local website
        print(f"demo: serving the demo website at {site.base}/index.html; crawling it")
        config = write_config(out.parent / f"{out.name}-sources.yaml", corpus, args.asr_model,
                              site_url=site.base)
        return cli_main(["run", "--config", str(config), "--out", str(out), "--force",
                         *beam_args])


if __name__ == "__main__":
    sys.exit(main())
