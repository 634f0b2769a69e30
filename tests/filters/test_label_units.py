"""Unit tests of the label policy pieces: normalisation, agreement, machine text, LID policy,
hallucination flags, label choice and config validation."""

from __future__ import annotations

import dataclasses

import pytest

from filters.agreement import agreement, corpus_error_rates
from filters.hallucination import (
    asr_flags,
    audio_flags,
    max_ngram_count,
    phrase_hits,
    pseudo_label_flags,
    text_flags,
)
from filters.label_choice import choose_label
from filters.label_config import LabelConfig
from filters.lid_policy import decide_language
from filters.machine_text import looks_machine_generated, summarise_by_source
from filters.text_normalize import normalize, tokens_with_spans, word_keys
from schemas.reasons import Reason

CFG = LabelConfig()


# --------------------------------------------------------------------------- normalisation


def test_english_normaliser_handles_spelling_and_numbers():
    assert normalize("Mr. Quilter, twenty-one!", "en") == "mister quilter 21"
    assert normalize("Colour", "en") == normalize("color", "en")


def test_basic_normaliser_keeps_accents_and_splits_cjk():
    assert normalize("Forêts, et conseiller.", "fr") == "forêts et conseiller"
    assert normalize("广州市。", "zh") == "广 州 市"
    assert normalize(None) == "" and normalize("", "de") == ""


def test_tokens_keep_spans_into_the_original_text():
    text = "Hello, World! It's 広州 ok"
    toks = tokens_with_spans(text)
    assert [k for k, _s, _e in toks] == ["hello", "world", "it's", "広", "州", "ok"]
    assert all(text[s:e].casefold() == k for k, s, e in toks)
    assert word_keys("It’s") == ["it's"]


# --------------------------------------------------------------------------- agreement


def test_agreement_ignores_case_and_punctuation():
    a = agreement("Mr. Quilter is the apostle.", "mister quilter is the apostle", "en")
    assert a.cer == 0.0 and a.wer == 0.0


def test_agreement_counts_real_errors():
    a = agreement("the cat sat on the mat", "the cat sat on a hat", "en")
    assert a.wer == pytest.approx(2 / 6)
    assert 0 < a.cer < a.wer


def test_agreement_of_empty_texts():
    assert agreement("", "", "en").cer == 0.0
    assert agreement("", "something", "en").cer == 1.0
    assert agreement("something", "", "en").cer == 1.0


def test_corpus_error_rates_sum_edits():
    cer, wer = corpus_error_rates(["a b c d", "e f"], ["a b c d", "e x"], "en")
    assert wer == pytest.approx(1 / 6)
    assert cer == pytest.approx(1 / 6)


# --------------------------------------------------------------------------- machine text


HUMAN = ("Well, I think we should go. It's late, and the roads are icy; besides, "
         "the children are tired. Don't you agree?")


@pytest.mark.parametrize("text,reason", [
    (HUMAN.upper(), "all_upper_case"),
    (HUMAN.lower(), "all_lower_case"),
    ("Well I think we should go It is late and the roads are icy besides The children",
     "no_punctuation"),
    (("We went there. " * 30).strip(), "no_commas"),
])
def test_machine_heuristics_fire(text, reason):
    v = looks_machine_generated(text)
    assert v.machine and v.reason == reason


def test_human_text_and_short_text_are_not_machine():
    assert not looks_machine_generated(HUMAN).machine
    assert not looks_machine_generated("OK THANKS").machine  # too short to judge


def test_long_unbroken_text_is_machine():
    text = ("One, two, three and Four " * 40).strip()
    v = looks_machine_generated(text, unbroken_chars=500)
    assert v.machine and v.reason == "long_unbroken_text"


def test_machine_summary_per_source():
    m = looks_machine_generated(HUMAN.upper())
    h = looks_machine_generated(HUMAN)
    out = summarise_by_source([("a", m), ("a", h), ("b", h)])
    assert out["a"]["transcripts"] == 2 and out["a"]["machine"] == 1
    assert out["a"]["machine_all_upper_case"] == 1
    assert out["b"] == {"transcripts": 1}


# --------------------------------------------------------------------------- LID policy


def lid(audio="", ap=0.0, probs=(), text="", tp=0.0, cfg=CFG, declared=""):
    return decide_language(audio, ap, probs, text, tp, cfg, declared)


def test_lid_agreement_keeps_language():
    d = lid("de", 0.9, (("de", 0.9),), "de", 0.95)
    assert (d.language, d.task, d.reason) == ("de", "transcribe", "")
    assert d.prob == pytest.approx(0.95)


def test_lid_mismatch_is_rejected():
    d = lid("de", 0.99, (("de", 0.99),), "fr", 0.9)
    assert d.reason == Reason.LID_MISMATCH


def test_english_text_on_foreign_audio_is_translation():
    d = lid("de", 0.95, (("de", 0.95),), "en", 0.9)
    assert (d.language, d.task, d.reason) == ("de", "translate", "")
    off = dataclasses.replace(CFG, allow_translation=False)
    assert lid("de", 0.95, (("de", 0.95),), "en", 0.9, cfg=off).reason == Reason.LID_MISMATCH
    # weak audio evidence is not enough to call a translation pair
    assert lid("de", 0.6, (("de", 0.6),), "en", 0.9).reason == Reason.LID_MISMATCH


def test_foreign_text_on_english_audio_is_not_translation():
    assert lid("en", 0.99, (("en", 0.99),), "de", 0.9).reason == Reason.LID_MISMATCH


def test_close_language_confusion_is_tolerated():
    d = lid("pt", 0.6, (("pt", 0.6), ("es", 0.3)), "es", 0.9)
    assert (d.language, d.reason) == ("es", "")


def test_one_confident_vote_decides():
    assert lid("", 0.0, (), "sv", 0.9).language == "sv"
    assert lid("ja", 0.8, (("ja", 0.8),), "", 0.0).language == "ja"
    assert lid("ja", 0.3, (("ja", 0.3),), "it", 0.2).reason == Reason.LID_LOW_CONFIDENCE


def test_declared_and_fallback_language():
    assert lid(declared="fr").language == "fr"
    assert lid().reason == Reason.LID_LOW_CONFIDENCE
    assert lid(cfg=dataclasses.replace(CFG, fallback_language="en")).language == "en"
    d = lid(cfg=dataclasses.replace(CFG, require_language=False))
    assert d.reason == "" and d.language == ""


# --------------------------------------------------------------------------- hallucination


def test_asr_score_flags_follow_whisper_thresholds():
    names = {f.name for f in asr_flags(-1.5, 0.7, 2.8, CFG)}
    assert names == {"avg_logprob", "no_speech_prob", "compression_ratio"}
    assert asr_flags(-0.3, 0.7, 1.5, CFG) == []  # high no-speech alone, confident text
    assert [f.name for f in asr_flags(-0.3, 0.99, 1.5, CFG)] == ["no_speech_prob"]
    assert asr_flags(None, None, None, CFG) == []


def test_repetition_flags():
    loop = "I am going to the store. " * 6
    names = {f.name for f in text_flags(loop, 10.0, "en", CFG)}
    assert {"repeated_ngram", "unique_word_share"} <= names
    assert max_ngram_count("a b c a b c a b c".split(), 3) == (3, "a b c")
    normal = "The quick brown fox jumps over the lazy dog near the river bank today."
    assert text_flags(normal, 5.0, "en", CFG) == []


def test_rate_and_long_word_flags():
    assert [f.name for f in text_flags("hello world " * 10, 1.0, "en", CFG)][-1] == \
        "chars_per_second"
    long_word = "a" * 30
    assert "long_word" in {f.name for f in text_flags(f"it is {long_word}", 5.0, "en", CFG)}
    # languages without spaces have no "words" to measure
    assert "long_word" not in {f.name for f in text_flags("广州市房地产中介协会分析" * 3, 9.0,
                                                            "zh", CFG)}


def test_known_phrases_per_language():
    assert phrase_hits("Thanks for watching!", "en") == ["thanks for watching"]
    assert phrase_hits("Untertitel im Auftrag des ZDF, 2017", "de")
    assert phrase_hits("ご視聴ありがとうございました", "ja")
    assert phrase_hits("Subtitles by the Amara.org community", "")  # unknown language: all
    assert phrase_hits("the thanksgiving watch", "en") == []
    assert phrase_hits("bonjour", "fr", ("bonjour",)) == ["bonjour"]


def test_audio_evidence_flag():
    assert [f.name for f in audio_flags("hello", 0.02, CFG)] == ["low_speech_ratio"]
    assert audio_flags("", 0.0, CFG) == [] and audio_flags("hello", None, CFG) == []
    assert all(f.audio for f in audio_flags("hello", 0.0, CFG))


def test_pseudo_label_flags_combines_all():
    flags = pseudo_label_flags("Thanks for watching!", 2.0, "en", -1.4, 0.9, 1.0, 0.01, CFG)
    assert {f.name for f in flags} == {"avg_logprob", "no_speech_prob", "phrase",
                                       "low_speech_ratio"}


# --------------------------------------------------------------------------- label choice


def choose(source, pseudo, flags=(), logprob=-0.2, task="transcribe", machine=False, lang="en"):
    return choose_label(source, pseudo, lang, task, machine, list(flags), logprob, CFG)


def test_agreeing_source_is_chosen_with_scores():
    c = choose("Mr. Quilter is the apostle of the middle classes.",
               "Mister Quilter is the apostle of the middle classes")
    assert (c.label_source, c.reason, c.cer) == ("source", "", 0.0)
    assert c.text.startswith("Mr. Quilter")


def test_disagreeing_source_is_rejected_not_overruled():
    c = choose("Completely different words here.", "the apostle of the middle classes")
    assert c.reason == Reason.LABEL_DISAGREEMENT and c.label_source == "none"
    assert c.cer > CFG.max_cer


def test_missing_or_machine_source_uses_confident_pseudo_label():
    assert choose(None, "Hello there.").label_source == "pseudo"
    c = choose("HELLO THERE", "Hello there.", machine=True)
    assert (c.label_source, c.text) == ("pseudo", "Hello there.")
    assert choose(None, "Hello there.", logprob=-0.95).reason == Reason.LOW_ASR_CONFIDENCE
    assert choose(None, "Hello there.", logprob=None).reason == Reason.LOW_ASR_CONFIDENCE
    assert choose(None, "").reason == Reason.EMPTY_LABEL
    assert choose(None, "[Music]").reason == Reason.EMPTY_LABEL


def test_flags_reject_pseudo_labels_but_audio_flags_reject_everything():
    text_flag = text_flags("Thanks for watching!", 2.0, "en", CFG)
    assert choose(None, "Thanks for watching!", text_flag).reason == Reason.HALLUCINATION
    # an agreeing human source is kept despite a text flag on the pseudo-label
    assert choose("Thanks for watching!", "Thanks for watching!", text_flag).label_source == \
        "source"
    audio = audio_flags("hello", 0.0, CFG)
    assert choose("Hello.", "Hello.", audio).reason == Reason.HALLUCINATION


def test_translation_pair_keeps_english_source():
    c = choose("The weather is nice.", "Das Wetter ist schön.", task="translate", lang="de")
    assert (c.label_source, c.text, c.cer) == ("translation", "The weather is nice.", None)
    assert choose("The weather is nice.", "x", task="translate", machine=True).reason == \
        Reason.MACHINE_TRANSCRIPT


# --------------------------------------------------------------------------- config


def test_config_validation_names_the_field():
    LabelConfig().validate("curate.labels")
    for field, value in [("max_cer", -1.0), ("min_speech_ratio", 2.0), ("repeat_ngram", 0),
                         ("extra_phrases", ("",)), ("min_avg_logprob", 0.5)]:
        with pytest.raises(ValueError, match=f"curate.labels.{field}"):
            dataclasses.replace(CFG, **{field: value}).validate("curate.labels")


def test_too_little_text_for_long_audio_is_flagged():
    names = [f.name for f in text_flags("Thank you.", 29.9, "en", CFG)]
    assert names == ["chars_per_second"]
    assert text_flags("Thank you.", 2.0, "en", CFG) == []  # a short segment may say just that


def test_pseudo_label_needs_low_no_speech_prob():
    c = choose_label(None, "Thank you.", "en", "transcribe", False, [], -0.3, CFG, 0.87)
    assert c.reason == Reason.LOW_ASR_CONFIDENCE and "no_speech_prob" in c.detail
    c = choose_label(None, "Thank you.", "en", "transcribe", False, [], -0.3, CFG, 0.05)
    assert c.label_source == "pseudo"
