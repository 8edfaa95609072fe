#!/usr/bin/env python3
"""Writes a 16 kHz mono 16-bit WAV of MEGABYTES of samples (a repeating pattern, not speech), for
the upload benchmarks: `synthetic_wav.py PATH MEGABYTES`."""
import struct
import sys


def write(path: str, megabytes: int) -> None:
    data = megabytes * 1024 * 1024
    block = bytes((i * 37) % 256 for i in range(65536))
    with open(path, "wb") as out:
        out.write(b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE")
        out.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16))
        out.write(b"data" + struct.pack("<I", data))
        for _ in range(data // len(block)):
            out.write(block)


if __name__ == "__main__":
    write(sys.argv[1], int(sys.argv[2]))
