"""`python -m dalston_runners serve ...` (what the engine starts) and `... models ...` (what
`dalston models` runs)."""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys

from . import models
from .log import RunnerLog
from .protocol import Channel, RequestError, TranscribeRequest


def _die_with_parent() -> None:
    """Linux: the kernel kills the runner when its engine dies, even mid-inference (stdin's EOF
    would be noticed only after the request)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def serve(arguments: argparse.Namespace) -> int:
    # The engine may start us with signals blocked (a process's mask is inherited): SIGTERM and
    # SIGINT must end the runner.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    protocol_out = sys.stdout
    sys.stdout = sys.stderr  # nothing a library prints may corrupt the protocol
    _die_with_parent()
    channel = Channel(sys.stdin, protocol_out)
    log = RunnerLog().bind(runner=arguments.runner, model=arguments.model_id or arguments.model)
    try:
        if arguments.runner == "diarizer":
            from .diarize import DiarizeRunner

            runner = DiarizeRunner(arguments.model, threads=arguments.threads, log=log)
        else:
            from .whisper import WhisperRunner

            runner = WhisperRunner(
                arguments.model, device=arguments.device, compute_type=arguments.compute_type, threads=arguments.threads,
                beam_size=arguments.beam_size, log=log,
            )
    except Exception as error:  # the engine shows this to the operator and in the job's error
        log.error("model_load_failed", error=f"{type(error).__name__}: {error}")
        channel.send({"type": "fatal", "message": f"cannot load model {arguments.model}: {type(error).__name__}: {error}"})
        return 3
    log.info("runner_ready", pid=os.getpid(), **runner.describe())
    channel.ready(pid=os.getpid(), **runner.describe())
    for message in channel.requests():
        kind = message.get("type")
        request_id = str(message.get("id") or "")
        if kind == "shutdown":
            break
        if kind == "ping":
            channel.send({"type": "pong", "id": request_id})
            continue
        serves = "diarize" if arguments.runner == "diarizer" else "transcribe"
        if kind != serves:
            channel.send({"type": "error", "id": request_id, "permanent": True, "message": f"unknown request type {kind!r}: this runner serves {serves}"})
            continue
        try:
            if serves == "diarize":
                from .diarize import DiarizeRequest

                result = runner.diarize(DiarizeRequest.parse(message))
            else:
                result = runner.transcribe(TranscribeRequest.parse(message))
            channel.send({"type": "result", "id": request_id, **result})
        except RequestError as error:
            log.bind(**(message.get("context") or {})).warning("request_failed", error=str(error), permanent=error.permanent)
            channel.send({"type": "error", "id": request_id, "permanent": error.permanent, "message": str(error)})
        except Exception as error:
            log.bind(**(message.get("context") or {})).error("inference_failed", error=f"{type(error).__name__}: {error}")
            channel.send({"type": "error", "id": request_id, "permanent": False, "message": f"{type(error).__name__}: {error}"})
    log.info("runner_stopping")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dalston_runners")
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("serve", help="load a model and serve requests on stdin/stdout")
    runner.add_argument("--runner", default="faster-whisper", choices=["faster-whisper", "diarizer"])
    runner.add_argument("--model", required=True, help="a model directory, or a hub name such as Systran/faster-whisper-small")
    runner.add_argument("--model-id", default=None, help="Dalston's name of the model (for log lines)")
    runner.add_argument("--device", default="cpu")
    runner.add_argument("--compute-type", default="int8")
    runner.add_argument("--threads", type=int, default=0, help="CPU threads (0: CTranslate2 chooses)")
    runner.add_argument("--beam-size", type=int, default=5)
    runner.set_defaults(handler=serve)
    models.add_commands(commands)
    arguments = parser.parse_args(argv)
    return int(arguments.handler(arguments) or 0)


if __name__ == "__main__":
    sys.exit(main())
