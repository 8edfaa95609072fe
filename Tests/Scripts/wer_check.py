"""Scores a server's OpenAI transcription route on the real recordings of Tests/Fixtures/eval-audio.

usage: wer_check.py BASE_URL [--api-key KEY] [--model whisper-1] [--max-wer F | --min-wer F] [--show]

Sends each clip with the official `openai` SDK, one request at a time, normalises reference and
hypothesis alike (case, punctuation, hyphens, digits spelt out, "oh" among digits read as zero,
a few abbreviations), and prints each clip's word error rate, then one JSON line with the corpus
figures: {"wer", "errors", "words", "audio_seconds", "wall_seconds", "rtf", "failed"}. Exit 1 when a
request failed or the corpus WER is above --max-wer (or below --min-wer).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
import unicodedata
from pathlib import Path

from openai import OpenAI

from text_metrics import edit_distance

FIXTURES = Path(__file__).resolve().parent.parent / "Fixtures" / "eval-audio"
UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SPELLING = {"mr": "mister", "mrs": "missus", "dr": "doctor", "metres": "meters", "metre": "meter", "ok": "okay"}


def spoken(number: str) -> list[str]:
    """Digits as people read them: short numbers as numbers, long or zero-led ones digit by digit."""
    value = int(number)
    if number.startswith("0") and len(number) > 1 or len(number) >= 5 or value >= 10_000:
        return [UNITS[int(digit)] for digit in number]
    words: list[str] = []
    if value >= 1000:
        words += spoken(str(value // 1000)) + ["thousand"]
        value %= 1000
    if value >= 100:
        words += [UNITS[value // 100], "hundred"]
        value %= 100
    if value >= 20:
        words.append(TENS[value // 10])
        value %= 10
        if value:
            words.append(UNITS[value])
    elif value or not words:
        words.append(UNITS[value])
    return words


def normalise(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    text = re.sub(r"[-\u2010-\u2015/]", " ", text)
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"\d+", lambda match: " " + " ".join(spoken(match.group())) + " ", text)
    text = re.sub(r"[^\w\s']", " ", text)
    words = [SPELLING.get(word.strip("'"), word.strip("'")) for word in text.split()]
    words = [word for word in words if word]
    digits = set(UNITS[:10])
    return ["zero" if word == "oh" and ((i > 0 and words[i - 1] in digits) or (i + 1 < len(words) and words[i + 1] in digits)) else word
            for i, word in enumerate(words)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("--api-key", default="unused")
    parser.add_argument("--model", default="whisper-1")
    parser.add_argument("--max-wer", type=float)
    parser.add_argument("--min-wer", type=float)
    parser.add_argument("--show", action="store_true")
    arguments = parser.parse_args()
    client = OpenAI(base_url=arguments.base_url.rstrip("/") + "/v1", api_key=arguments.api_key, max_retries=0, timeout=600)
    errors = words = failed = 0
    audio_seconds = wall_seconds = 0.0
    with open(FIXTURES / "manifest.tsv", newline="") as manifest:
        rows = list(csv.DictReader(manifest, delimiter="\t"))
    for row in rows:
        reference = normalise(row["reference"])
        started = time.monotonic()
        try:
            with open(FIXTURES / row["file"], "rb") as audio:
                text = client.audio.transcriptions.create(model=arguments.model, file=audio, response_format="json").text
        except Exception as error:  # any failure counts, and is shown
            print(f"{row['file']}: FAILED {type(error).__name__}: {error}", file=sys.stderr)
            failed += 1
            text = ""
        wall_seconds += time.monotonic() - started
        audio_seconds += float(row["duration_s"])
        distance = edit_distance(reference, normalise(text))
        errors += distance
        words += len(reference)
        print(f"{row['file']}: WER {distance / len(reference):.3f}" + (f"  {text!r}" if arguments.show else ""))
    wer = errors / words
    print(json.dumps({"wer": round(wer, 4), "errors": errors, "words": words, "audio_seconds": round(audio_seconds, 3),
                      "wall_seconds": round(wall_seconds, 3), "rtf": round(wall_seconds / audio_seconds, 4), "failed": failed}))
    if failed:
        return 1
    if arguments.max_wer is not None and wer > arguments.max_wer:
        print(f"FAILED: corpus WER {wer:.3f} is above {arguments.max_wer}", file=sys.stderr)
        return 1
    if arguments.min_wer is not None and wer < arguments.min_wer:
        print(f"FAILED: corpus WER {wer:.3f} is below {arguments.min_wer}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
