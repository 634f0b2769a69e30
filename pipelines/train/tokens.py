"""Decoder targets as in the Whisper paper, built with openai-whisper's own tokenizer.

A training sequence is::

    [<|startofprev|> previous text ...] <|startoftranscript|> <|lang|> <|transcribe|>|<|translate|>
    ( <|t0|> text <|t1|> <|t2|> text <|t3|> ...            with timestamps
    | <|notimestamps|> text text ... )                       without
    <|endoftext|>

and for a window without speech ``<|startoftranscript|> <|nospeech|> <|endoftext|>`` (the model
predicts ``<|nospeech|>`` where the language token would come, which is where
``whisper.decoding`` reads ``no_speech_prob``). English-only tokenizers (``*.en`` checkpoints)
have no language or task tokens. Text pieces are encoded with a leading space, as Whisper
decodes them. Timestamps are quantised to Whisper's 20 ms steps and are relative to the window.

What is learned (``loss_mask``): the language token (language identification) or
``<|nospeech|>``, the text, the timestamps and ``<|endoftext|>``. Not learned: the previous text
and the tokens a decoder is always given (``<|startoftranscript|>``, the task,
``<|notimestamps|>``) -- the paper does not train on the previous text either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TIME_PRECISION = 0.02  # seconds per timestamp token (whisper.audio: 2 mel frames)
MAX_TIMESTAMP = 1500  # <|30.00|>


@dataclass(frozen=True)
class Piece:
    """One segment placed in a training window."""

    start: float  # seconds from the window's start
    end: float  # seconds from the window's start
    text: str


@dataclass(frozen=True)
class Sequence:
    tokens: tuple[int, ...]  # the whole sequence, <|startofprev|>/<|startoftranscript|> first
    loss_mask: tuple[bool, ...]  # per token: True where the model is trained to predict it

    def inputs_and_labels(self, ignore: int = -100) -> tuple[list[int], list[int]]:
        """Teacher forcing: inputs are tokens[:-1]; labels tokens[1:] (``ignore`` where masked)."""
        labels = [t if m else ignore for t, m in zip(self.tokens[1:], self.loss_mask[1:],
                                                      strict=True)]
        return list(self.tokens[:-1]), labels


def get_tokenizer(multilingual: bool = True, num_languages: int = 99) -> Any:
    """openai-whisper's tokenizer for a model (multilingual: 99 languages for tiny..large-v2)."""
    from whisper.tokenizer import get_tokenizer as whisper_tokenizer

    return whisper_tokenizer(multilingual, num_languages=num_languages)


def timestamp_token(tokenizer: Any, seconds: float) -> int:
    steps = min(max(round(seconds / TIME_PRECISION), 0), MAX_TIMESTAMP)
    return tokenizer.timestamp_begin + steps


def text_tokens(tokenizer: Any, text: str) -> list[int]:
    """A segment's text as Whisper emits it: with one leading space."""
    text = text.strip()
    return tokenizer.encode(" " + text) if text else []


def sot_tokens(tokenizer: Any, language: str, task: str) -> list[int]:
    """<|startoftranscript|> [<|lang|> <|task|>] for this tokenizer."""
    if not is_multilingual(tokenizer):
        return [tokenizer.sot]  # English-only vocabulary: no language or task tokens
    task_token = tokenizer.translate if task == "translate" else tokenizer.transcribe
    return [tokenizer.sot, tokenizer.to_language_token(language), task_token]


def is_multilingual(tokenizer: Any) -> bool:
    return tokenizer.encoding.n_vocab >= 51865


def build_sequence(tokenizer: Any, *, language: str, task: str, pieces: list[Piece],
                   timestamps: bool, prev_text: str = "", no_speech: bool = False,
                   max_prev_tokens: int = 223, n_text_ctx: int = 448) -> Sequence:
    """The token sequence and loss mask of one window (see the module docstring).

    The previous text is cut from the front to ``max_prev_tokens`` and to what fits in
    ``n_text_ctx`` next to the window's own tokens; a window whose own tokens do not fit raises
    ``ValueError`` (the packer keeps windows within the budget).
    """
    tokens: list[int] = []
    mask: list[bool] = []

    def add(toks: list[int], learned: bool) -> None:
        tokens.extend(toks)
        mask.extend([learned] * len(toks))

    multilingual = is_multilingual(tokenizer)
    main: list[tuple[list[int], bool]] = []
    if no_speech:
        main = [([tokenizer.sot], False), ([tokenizer.no_speech], True), ([tokenizer.eot], True)]
    else:
        sot = sot_tokens(tokenizer, language, task)
        main += [([sot[0]], False)]
        if multilingual:  # the language is learned (LID), the task is always given
            main += [([sot[1]], True), ([sot[2]], False)]
        if timestamps:
            for piece in pieces:
                main += [([timestamp_token(tokenizer, piece.start)], True),
                         (text_tokens(tokenizer, piece.text), True),
                         ([timestamp_token(tokenizer, piece.end)], True)]
        else:
            main += [([tokenizer.no_timestamps], False)]
            for piece in pieces:
                main += [(text_tokens(tokenizer, piece.text), True)]
        main += [([tokenizer.eot], True)]
    n_main = sum(len(t) for t, _ in main)
    if n_main > n_text_ctx:
        raise ValueError(f"window needs {n_main} tokens; the decoder has {n_text_ctx}")
    room = min(max_prev_tokens, n_text_ctx - n_main - 1)
    prev = text_tokens(tokenizer, prev_text) if prev_text and not no_speech else []
    if prev and room > 0:
        add([tokenizer.sot_prev], False)
        add(prev[-room:], False)
    for toks, learned in main:
        add(toks, learned)
    return Sequence(tuple(tokens), tuple(mask))


def window_token_cost(tokenizer: Any, text: str) -> int:
    """Tokens a segment adds to a window with timestamps (text + two timestamps)."""
    return len(text_tokens(tokenizer, text)) + 2
