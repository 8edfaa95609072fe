"""Drives a Dalston gateway that runs Whisper with the official `openai` and `elevenlabs` SDKs.

usage: whisper_client_check.py BASE_URL API_KEY FIXTURES_DIR [--english-only]

FIXTURES_DIR is Tests/Fixtures. With the multilingual model installed (faster-whisper-base) it
checks language detection and translation; with --english-only (only tiny.en installed) it checks
that translation and other languages are refused with a clear 400. Prints each check; exits 1 on
the first failure.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import openai
import srt
import webvtt
from elevenlabs.client import ElevenLabs
from openai import OpenAI

from checks import check, run  # Tests/Scripts/checks.py


def words_in_order(words, duration: float) -> bool:
    previous = 0.0
    for word in words:
        if not (0 <= word.start <= word.end <= duration + 0.05) or word.start + 1e-6 < previous:
            return False
        previous = word.start
    return True


def openai_checks(client: OpenAI, fixtures: Path, english_only: bool) -> None:
    jfk = fixtures / "eval-audio" / "clips" / "jfk.wav"
    with open(jfk, "rb") as audio:
        verbose = client.audio.transcriptions.create(
            model="whisper-1", file=audio, response_format="verbose_json", timestamp_granularities=["word", "segment"])
    text = verbose.text.lower()
    check("whisper-1 transcribes real speech", "ask not what your country can do for you" in text, verbose.text)
    check("verbose_json names the language in full", verbose.language == "english", verbose.language)
    check("verbose_json has the duration", abs(verbose.duration - 11.0) < 0.1, verbose.duration)
    segment = verbose.segments[0]
    check("segments carry Whisper's decoding figures",
          segment.avg_logprob < 0 and segment.compression_ratio > 0 and 0 <= segment.no_speech_prob <= 1 and segment.temperature is not None,
          segment)
    check("word timestamps are inside the audio and in order", len(verbose.words) >= 20 and words_in_order(verbose.words, verbose.duration),
          verbose.words[:5])
    check("words come from the model (not spread evenly)", len({round(w.end - w.start, 2) for w in verbose.words}) > 5, verbose.words[:8])

    with open(jfk, "rb") as audio:
        plain = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=audio)
    check("gpt-4o-transcribe maps to the Whisper model", "fellow americans" in plain.text.lower(), plain.text)
    with open(jfk, "rb") as audio:
        text_format = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="text")
    check("response_format=text", "ask what you can do" in str(text_format).lower(), text_format)
    with open(jfk, "rb") as audio:
        subtitles = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="srt")
    cues = list(srt.parse(str(subtitles)))
    check("response_format=srt parses", cues and cues[-1].end.total_seconds() <= 11.05, subtitles)
    with open(jfk, "rb") as audio:
        captions = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="vtt")
    check("response_format=vtt parses", len(webvtt.from_buffer(io.StringIO(str(captions)))) >= 1, captions)
    with open(jfk, "rb") as audio:
        prompted = client.audio.transcriptions.create(model="whisper-1", file=audio, prompt="President Kennedy's inaugural address.", temperature=0.2)
    check("prompt and temperature are accepted", "country" in prompted.text.lower(), prompted.text)

    try:
        with open(jfk, "rb") as audio:
            client.audio.transcriptions.create(model="Systran/faster-whisper-large-v3", file=audio)
        raise AssertionError("a model that is not installed was accepted")
    except openai.BadRequestError as error:
        check("a model that is not installed is a 400 naming the command that installs it", "dalston models pull" in str(error), error)

    spanish = fixtures / "speech" / "spanish-espeak.wav"
    if english_only:
        try:
            with open(spanish, "rb") as audio:
                client.audio.translations.create(model="whisper-1", file=audio)
            raise AssertionError("translation was accepted without a multilingual model")
        except openai.BadRequestError as error:
            check("translation without a multilingual model is a clear 400", "translate" in str(error), error)
        try:
            with open(spanish, "rb") as audio:
                client.audio.transcriptions.create(model="whisper-1", file=audio, language="es")
            raise AssertionError("Spanish was accepted without a multilingual model")
        except openai.BadRequestError as error:
            check("a language no installed model knows is a clear 400", "multilingual" in str(error), error)
        return

    with open(spanish, "rb") as audio:
        detected = client.audio.transcriptions.create(model="faster-whisper-base", file=audio, response_format="verbose_json")
    check("the multilingual model detects Spanish", detected.language == "spanish", detected.language)
    check("and transcribes it", "buenos días" in detected.text.lower() and "parque" in detected.text.lower(), detected.text)
    with open(spanish, "rb") as audio:
        asked = client.audio.transcriptions.create(model="whisper-1", file=audio, language="es")
    check("whisper-1 with language=es picks a model that knows Spanish", "parque" in asked.text.lower(), asked.text)
    with open(spanish, "rb") as audio:
        translated = client.audio.translations.create(model="whisper-1", file=audio, response_format="verbose_json")
    check("translation gives English", "good morning" in translated.text.lower() and "park" in translated.text.lower(), translated.text)
    check("translation says so", translated.task == "translate", translated.task)
    with open(spanish, "rb") as audio:
        translated_text = client.audio.translations.create(model="whisper-1", file=audio)
    check("translation in json", "park" in translated_text.text.lower(), translated_text.text)


def elevenlabs_checks(client: ElevenLabs, fixtures: Path, english_only: bool) -> None:
    jfk = fixtures / "eval-audio" / "clips" / "jfk.wav"
    with open(jfk, "rb") as audio:
        result = client.speech_to_text.convert(file=audio, model_id="scribe_v1")
    check("ElevenLabs scribe_v1 runs Whisper", "ask not what your country" in result.text.lower(), result.text)
    check("ElevenLabs language_code", result.language_code == "en", result.language_code)
    words = [w for w in result.words if w.type == "word"]
    check("ElevenLabs words in order inside the audio", words and words_in_order(words, 11.0), words[:4])
    check("ElevenLabs words carry the model's probabilities", all(w.logprob is not None and w.logprob <= 0 for w in words), words[:3])
    if english_only:
        return
    with open(fixtures / "speech" / "spanish-espeak.wav", "rb") as audio:
        spanish = client.speech_to_text.convert(file=audio, model_id="faster-whisper-base")
    check("ElevenLabs: detected language and its probability", spanish.language_code == "es" and 0.5 < spanish.language_probability < 1,
          (spanish.language_code, spanish.language_probability))


def main() -> int:
    base_url, api_key, fixtures = sys.argv[1:4]
    english_only = "--english-only" in sys.argv[4:]
    openai_checks(OpenAI(base_url=base_url.rstrip("/") + "/v1", api_key=api_key, max_retries=0, timeout=300), Path(fixtures), english_only)
    elevenlabs_checks(ElevenLabs(api_key=api_key, base_url=base_url), Path(fixtures), english_only)
    print("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    run(main)
