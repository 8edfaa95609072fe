"""Drives a running Dalston gateway with the official `elevenlabs` Python SDK.

usage: elevenlabs_client_check.py BASE_URL API_KEY WAV_FILE EXPECTED_WORD...
Prints what it checked; exits non-zero (with the reason) when the SDK cannot use our answers.
"""
import sys

from elevenlabs.client import ElevenLabs
from elevenlabs.core.api_error import ApiError


def main() -> int:
    base_url, api_key, wav, *expected = sys.argv[1:]
    client = ElevenLabs(api_key=api_key, base_url=base_url)
    with open(wav, "rb") as audio:
        result = client.speech_to_text.convert(file=audio, model_id="scribe_v1", language_code="en")
    kind = type(result).__name__
    assert kind == "SpeechToTextChunkResponseModel", f"SDK parsed the answer as {kind}"
    text = result.text.lower()
    missing = [word for word in expected if word not in text]
    assert not missing, f"words {missing} missing from {result.text!r}"
    assert result.language_code == "en", result.language_code
    assert result.words, "no words"
    assert {w.type for w in result.words} <= {"word", "spacing"}, {w.type for w in result.words}
    words = [w for w in result.words if w.type == "word"]
    assert all(w.start is not None and w.end is not None and w.end >= w.start for w in words), "bad word times"
    assert result.transcription_id, "no transcription_id"

    fetched = client.speech_to_text.transcripts.get(transcription_id=result.transcription_id)
    assert fetched.text == result.text, (fetched.text, result.text)

    try:
        ElevenLabs(api_key="wrong-key", base_url=base_url).speech_to_text.transcripts.get(transcription_id=result.transcription_id)
        raise AssertionError("a wrong API key was accepted")
    except ApiError as error:
        assert error.status_code == 401, error.status_code

    print(f"ok: {kind} text={result.text!r} words={len(words)} transcription_id={result.transcription_id}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
