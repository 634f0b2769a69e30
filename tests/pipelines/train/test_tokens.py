"""Targets match openai-whisper's tokenizer conventions token for token: the SOT sequence and
prompt layout of ``whisper.decoding.DecodingTask``, timestamp tokens as
``decode_with_timestamps`` reads them, ``<|nospeech|>`` where ``no_speech_prob`` is read."""

from __future__ import annotations

import pytest
from whisper.decoding import DecodingOptions, DecodingTask
from whisper.model import ModelDimensions, Whisper
from whisper.tokenizer import get_tokenizer as whisper_tokenizer

from pipelines.train.tokens import Piece, build_sequence, get_tokenizer


@pytest.fixture(scope="module")
def tok():
    return get_tokenizer(True, 99)


@pytest.fixture(scope="module")
def model():
    return Whisper(ModelDimensions(80, 1500, 8, 1, 1, 51865, 448, 8, 1, 1))


def initial_tokens(model, **options):
    """The prefix whisper's own decoder starts from with these options."""
    return list(DecodingTask(model, DecodingOptions(**options)).initial_tokens)


def test_transcribe_without_timestamps(tok, model):
    seq = build_sequence(tok, language="de", task="transcribe", timestamps=False,
                         pieces=[Piece(0.0, 2.0, "Guten Tag."), Piece(2.5, 4.0, "Wie geht's?")])
    prefix = initial_tokens(model, language="de", task="transcribe", without_timestamps=True)
    reference = whisper_tokenizer(True, num_languages=99, language="de", task="transcribe")
    assert prefix == list(reference.sot_sequence_including_notimestamps)
    body = tok.encode(" Guten Tag.") + tok.encode(" Wie geht's?") + [tok.eot]
    assert list(seq.tokens) == prefix + body
    # learned: the language token and everything after <|notimestamps|>
    assert [t for t, m in zip(seq.tokens, seq.loss_mask, strict=True) if m] == \
        [tok.to_language_token("de")] + body


def test_translate_takes_the_audio_language_and_the_translate_token(tok, model):
    seq = build_sequence(tok, language="fr", task="translate", timestamps=False,
                         pieces=[Piece(0.0, 3.0, "The weather will be sunny.")])
    prefix = initial_tokens(model, language="fr", task="translate", without_timestamps=True)
    assert prefix[:3] == [tok.sot, tok.to_language_token("fr"), tok.translate]
    assert list(seq.tokens) == prefix + tok.encode(" The weather will be sunny.") + [tok.eot]


def test_timestamps_pair_each_segment_as_whisper_decodes_them(tok, model):
    pieces = [Piece(0.0, 1.5, "Hello there."), Piece(2.1, 4.0, "General Kenobi.")]
    seq = build_sequence(tok, language="en", task="transcribe", timestamps=True, pieces=pieces)
    prefix = initial_tokens(model, language="en", task="transcribe", without_timestamps=False)
    assert list(seq.tokens[:3]) == prefix == [tok.sot, tok.to_language_token("en"),
                                              tok.transcribe]
    ts = tok.timestamp_begin
    assert list(seq.tokens[3:]) == ([ts + 0] + tok.encode(" Hello there.") + [ts + 75, ts + 105]
                                    + tok.encode(" General Kenobi.") + [ts + 200, tok.eot])
    assert tok.decode_with_timestamps(list(seq.tokens[3:])) == (
        "<|0.00|> Hello there.<|1.50|><|2.10|> General Kenobi.<|4.00|><|endoftext|>")
    assert all(seq.loss_mask[3:])


def test_previous_text_is_whispers_prompt_and_is_not_learned(tok, model):
    prev = "Earlier in this recording somebody said this."
    seq = build_sequence(tok, language="en", task="transcribe", timestamps=False,
                         pieces=[Piece(0, 2, "And now this.")], prev_text=prev)
    prefix = initial_tokens(model, language="en", task="transcribe", without_timestamps=True,
                            prompt=" " + prev)
    assert prefix[0] == tok.sot_prev
    assert list(seq.tokens) == prefix + tok.encode(" And now this.") + [tok.eot]
    sot = seq.tokens.index(tok.sot)
    assert not any(seq.loss_mask[:sot + 1])
    inputs, labels = seq.inputs_and_labels()
    assert len(inputs) == len(labels) == len(seq.tokens) - 1
    assert labels[:sot] == [-100] * sot  # nothing before the language token is a target


def test_previous_text_is_cut_from_the_front_to_fit(tok):
    prev = " ".join(f"word{i}" for i in range(400))
    seq = build_sequence(tok, language="en", task="transcribe", timestamps=False,
                         pieces=[Piece(0, 2, "Last.")], prev_text=prev, max_prev_tokens=223)
    sot = seq.tokens.index(tok.sot)
    assert sot - 1 == 223 and seq.tokens[0] == tok.sot_prev
    assert list(seq.tokens[1:sot]) == tok.encode(" " + prev)[-223:]
    short = build_sequence(tok, language="en", task="transcribe", timestamps=False,
                           pieces=[Piece(0, 2, "Last.")], prev_text=prev, n_text_ctx=32)
    assert len(short.tokens) <= 32


def test_no_speech_is_predicted_where_whisper_reads_no_speech_prob(tok, model):
    seq = build_sequence(tok, language="en", task="transcribe", timestamps=True, pieces=[],
                         no_speech=True, prev_text="ignored for non-speech")
    assert list(seq.tokens) == [tok.sot, tok.no_speech, tok.eot]
    task = DecodingTask(model, DecodingOptions(language="en"))
    # DecodingTask reads no_speech_prob from the logits at sot_index: the token after SOT
    assert task.initial_tokens[task.sot_index] == tok.sot
    assert seq.loss_mask == (False, True, True)


def test_english_only_vocabulary_has_no_language_or_task_tokens():
    en = get_tokenizer(False)
    seq = build_sequence(en, language="en", task="transcribe", timestamps=False,
                         pieces=[Piece(0, 1, "Hi.")])
    assert list(seq.tokens) == list(en.sot_sequence_including_notimestamps) + \
        en.encode(" Hi.") + [en.eot]
    assert en.sot_sequence == (en.sot,)


def test_a_window_that_does_not_fit_the_decoder_is_refused(tok):
    with pytest.raises(ValueError, match="tokens"):
        build_sequence(tok, language="en", task="transcribe", timestamps=True,
                       pieces=[Piece(0, 30, "word " * 500)])
