"""What the client check scripts share: a named check that stops at the first failure, and a
runner that turns that failure into exit status 1 with its reason on stderr."""

from __future__ import annotations

import sys
from typing import Callable


def check(name: str, condition: object, detail: object = "") -> None:
    if not condition:
        raise AssertionError(f"{name}: {detail}")
    print(f"ok: {name}")


def run(main: Callable[[], int]) -> None:
    try:
        sys.exit(main())
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
