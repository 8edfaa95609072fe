"""Output formatting for Dalston CLI.

Provides consistent output formatting for both human-readable and
machine-readable (JSON) output modes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

if TYPE_CHECKING:
    from dalston_sdk import Job, JobSummary

# Console instances for stdout and stderr
console = Console()
error_console = Console(stderr=True)


def output_job_created(job: Job, as_json: bool = False) -> None:
    """Output job submission result.

    Args:
        job: Created job object.
        as_json: Output as JSON if True.
    """
    if as_json:
        data = {
            "id": str(job.id),
            "status": job.status.value,
            "created_at": job.created_at.isoformat(),
        }
        if job.display_name:
            data["display_name"] = job.display_name
        print(json.dumps(data, indent=2))
    else:
        name_suffix = f" ({job.display_name})" if job.display_name else ""
        console.print(f"Job submitted: {job.id}{name_suffix}")


def output_transcript(
    job: Job,
    fmt: str,
    output_path: str | None,
    include_speakers: bool = True,
    show_words: bool = False,
) -> None:
    """Output transcript in specified format.

    Args:
        job: Completed job with transcript.
        fmt: Output format (txt, json, srt, vtt).
        output_path: Path to write output, or None for stdout.
        include_speakers: Include speaker labels in output.
        show_words: Show word-level timestamps in text output.

    Raises:
        click.ClickException: If format is not supported.
    """
    import typer

    if fmt == "json":
        content = _job_to_json(job)
    elif fmt == "txt":
        if show_words:
            content = _format_words_text(job, include_speakers)
        else:
            content = job.transcript.text if job.transcript else ""
    elif fmt in ("srt", "vtt"):
        error_console.print(
            f"[red]Error:[/red] Format '{fmt}' requires the export endpoint. "
            f"Use 'dalston export {job.id} -f {fmt}' instead."
        )
        raise typer.Exit(code=1)
    else:
        error_console.print(f"[red]Error:[/red] Unsupported format: {fmt}")
        raise typer.Exit(code=1)

    if output_path:
        Path(output_path).write_text(content)
        error_console.print(f"Written to {output_path}")
    else:
        console.print(content)


def _job_to_json(job: Job) -> str:
    """Convert job to JSON string."""
    data: dict[str, Any] = {
        "id": str(job.id),
        "status": job.status.value,
        "created_at": job.created_at.isoformat(),
    }

    if job.display_name:
        data["display_name"] = job.display_name
    if job.started_at:
        data["started_at"] = job.started_at.isoformat()
    if job.completed_at:
        data["completed_at"] = job.completed_at.isoformat()
    if job.error:
        data["error"] = job.error

    if job.transcript:
        data["text"] = job.transcript.text
        data["language_code"] = job.transcript.language_code

        if job.transcript.words:
            data["words"] = [
                {
                    "text": w.text,
                    "start": w.start,
                    "end": w.end,
                    "confidence": w.confidence,
                    "speaker_id": w.speaker_id,
                }
                for w in job.transcript.words
            ]

        if job.transcript.segments:
            data["segments"] = [
                {
                    "id": s.id,
                    "text": s.text,
                    "start": s.start,
                    "end": s.end,
                    "speaker_id": s.speaker_id,
                    "words": (
                        [
                            {
                                "text": w.text,
                                "start": w.start,
                                "end": w.end,
                                "confidence": w.confidence,
                            }
                            for w in s.words
                        ]
                        if s.words
                        else None
                    ),
                }
                for s in job.transcript.segments
            ]

        if job.transcript.speakers:
            data["speakers"] = [
                {
                    "id": sp.id,
                    "label": sp.label,
                    "total_duration": sp.total_duration,
                }
                for sp in job.transcript.speakers
            ]

        # PII detection results
        if job.transcript.redacted_text:
            data["redacted_text"] = job.transcript.redacted_text

        if job.transcript.pii_entities:
            data["pii_entities"] = [
                {
                    "entity_type": e.entity_type,
                    "category": e.category,
                    "start_offset": e.start_offset,
                    "end_offset": e.end_offset,
                    "start_time": e.start_time,
                    "end_time": e.end_time,
                    "confidence": e.confidence,
                    "original_text": e.original_text,
                    "redacted_value": e.redacted_value,
                }
                for e in job.transcript.pii_entities
            ]

        if job.transcript.pii_info:
            data["pii"] = {
                "enabled": job.transcript.pii_info.enabled,
                "entities_detected": job.transcript.pii_info.entities_detected,
                "entity_summary": job.transcript.pii_info.entity_summary,
                "redacted_audio_available": job.transcript.pii_info.redacted_audio_available,
            }

    return json.dumps(data, indent=2)


def _format_words_text(job: Job, include_speakers: bool = True) -> str:
    """Format transcript with word-level timestamps.

    Args:
        job: Job with transcript.
        include_speakers: Include speaker labels.

    Returns:
        Formatted text with word timestamps.
    """
    if not job.transcript:
        return ""

    lines: list[str] = []

    # If segments have words, format by segment
    if job.transcript.segments:
        for segment in job.transcript.segments:
            # Segment header with timestamp
            start_time = _format_timestamp(segment.start)
            end_time = _format_timestamp(segment.end)
            header = f"[{start_time} - {end_time}]"
            if include_speakers and segment.speaker_id:
                header += f" {segment.speaker_id}:"
            lines.append(header)

            # Words with timestamps
            if segment.words:
                word_parts = []
                for word in segment.words:
                    word_parts.append(f"{word.text}({word.start:.2f})")
                lines.append("  " + " ".join(word_parts))
            else:
                lines.append(f"  {segment.text}")
            lines.append("")  # Blank line between segments

    # Fallback to transcript-level words
    elif job.transcript.words:
        for word in job.transcript.words:
            speaker_prefix = ""
            if include_speakers and word.speaker_id:
                speaker_prefix = f"{word.speaker_id}: "
            lines.append(
                f"[{word.start:.2f}-{word.end:.2f}] {speaker_prefix}{word.text}"
            )

    # Fallback to plain text
    else:
        return job.transcript.text

    return "\n".join(lines)


def _format_timestamp(seconds: float) -> str:
    """Format seconds as MM:SS.ms."""
    mins = int(seconds // 60)
    secs = seconds % 60
    return f"{mins:02d}:{secs:05.2f}"


def wait_with_progress(
    client: Any, job_id: Any, quiet: bool = False, timeout: int | None = None
) -> Any:
    """Wait for job completion with progress display.

    Args:
        client: Dalston client instance.
        job_id: Job ID to wait for.
        quiet: Suppress progress output if True.
        timeout: Maximum time to wait in seconds, or None for no limit.

    Returns:
        Completed job.
    """
    if quiet:
        return client.wait_for_completion(job_id, timeout=timeout)

    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        console=error_console,
    ) as progress:
        task = progress.add_task("Processing...", total=None)

        def on_progress(pct: int, stage: str | None) -> None:
            desc = f"{stage or 'Processing'}... {pct}%"
            progress.update(task, description=desc)

        return client.wait_for_completion(
            job_id,
            poll_interval=1.0,
            timeout=timeout,
            on_progress=on_progress,
        )


def _format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int((seconds % 3600) // 60):02d}m"


def _job_wait_seconds(job: JobSummary) -> float | None:
    """Queue wait across the pipeline.

    Uses the gateway-computed ``wait_ms`` (union of every task's
    ``ready_at → started_at`` interval, so parallel waits don't get
    double-counted). The job-level ``started_at − created_at`` would
    only catch the orchestrator's first-pickup delay, missing the
    much larger between-stage queueing the user actually cares about.
    """
    if job.wait_ms is None:
        return None
    return job.wait_ms / 1000.0


def _job_processing_seconds(job: JobSummary) -> float | None:
    """Engine busy time across the pipeline.

    Uses gateway-computed ``processing_ms`` (union of every task's
    ``started_at → completed_at``). Falls back to the job-level
    ``completed_at − started_at`` wall time if tasks haven't been
    populated yet (e.g. legacy rows).
    """
    if job.processing_ms is not None:
        return job.processing_ms / 1000.0
    if job.started_at is None or job.completed_at is None:
        return None
    return (job.completed_at - job.started_at).total_seconds()


def _format_speed(audio_s: float | None, processing_s: float | None) -> str:
    """Realtime factor (audio / processing). e.g. ``5.6x``."""
    if audio_s is None or processing_s is None or processing_s <= 0:
        return "-"
    ratio = audio_s / processing_s
    if ratio < 0.1:
        return "<0.1x"
    if ratio < 10:
        return f"{ratio:.1f}x"
    return f"{ratio:.0f}x"


def output_jobs_table(jobs: list[JobSummary], as_json: bool = False) -> None:
    """Display jobs list.

    Args:
        jobs: List of job summaries.
        as_json: Output as JSON if True.
    """
    if as_json:
        data = []
        for j in jobs:
            wait_s = _job_wait_seconds(j)
            took_s = _job_processing_seconds(j)
            data.append(
                {
                    "id": str(j.id),
                    "status": j.status.value,
                    "display_name": j.display_name,
                    "created_at": j.created_at.isoformat(),
                    "started_at": j.started_at.isoformat() if j.started_at else None,
                    "completed_at": j.completed_at.isoformat()
                    if j.completed_at
                    else None,
                    "audio_duration_seconds": j.audio_duration_seconds,
                    "wait_ms": j.wait_ms,
                    "processing_ms": j.processing_ms,
                    "wait_seconds": wait_s,
                    "processing_seconds": took_s,
                    "speed_realtime_factor": (
                        j.audio_duration_seconds / took_s
                        if j.audio_duration_seconds is not None
                        and took_s is not None
                        and took_s > 0
                        else None
                    ),
                    "result_language_code": j.result_language_code,
                    "result_word_count": j.result_word_count,
                    "result_segment_count": j.result_segment_count,
                    "result_speaker_count": j.result_speaker_count,
                }
            )
        print(json.dumps(data, indent=2))
        return

    table = Table()
    table.add_column("ID", style="cyan")
    table.add_column("Name", style="white")
    table.add_column("Duration", justify="right")
    table.add_column("Status")
    table.add_column("Created")
    table.add_column("Wait", justify="right")
    table.add_column("Took", justify="right")
    table.add_column("Speed", justify="right")

    status_styles = {
        "completed": "green",
        "running": "yellow",
        "pending": "dim",
        "failed": "red",
        "cancelled": "red",
    }

    total_duration = 0.0
    total_processing = 0.0
    n_with_duration = 0
    n_with_speed = 0
    for job in jobs:
        status_style = status_styles.get(job.status.value, "")
        # Truncate display name if too long
        name = job.display_name or "-"
        if len(name) > 30:
            name = name[:27] + "..."

        if job.audio_duration_seconds is not None:
            total_duration += job.audio_duration_seconds
            n_with_duration += 1

        wait_s = _job_wait_seconds(job)
        took_s = _job_processing_seconds(job)
        if took_s is not None and job.audio_duration_seconds is not None:
            total_processing += took_s
            n_with_speed += 1

        table.add_row(
            str(job.id)[:12] + "...",
            name,
            _format_duration(job.audio_duration_seconds),
            f"[{status_style}]{job.status.value}[/]",
            job.created_at.strftime("%Y-%m-%d %H:%M"),
            _format_duration(wait_s),
            _format_duration(took_s),
            _format_speed(job.audio_duration_seconds, took_s),
        )

    console.print(table)
    if n_with_duration:
        footer = (
            f"{len(jobs)} jobs, {n_with_duration} with duration — "
            f"total audio: {_format_duration(total_duration)} "
            f"({total_duration / 3600:.2f}h)"
        )
        if n_with_speed and total_processing > 0:
            footer += (
                f"; total compute: {_format_duration(total_processing)} "
                f"(avg speed {_format_speed(total_duration, total_processing)})"
            )
        console.print(f"[dim]{footer}[/dim]")
    else:
        console.print(f"[dim]{len(jobs)} jobs[/dim]")


def output_job_detail(job: Job, as_json: bool = False) -> None:
    """Display job details.

    Args:
        job: Job to display.
        as_json: Output as JSON if True.
    """
    if as_json:
        # Use print() for JSON to avoid Rich markup/wrapping that breaks JSON parsing
        print(_job_to_json(job))
        return

    console.print(f"ID:       {job.id}")
    if job.display_name:
        console.print(f"Name:     {job.display_name}")
    console.print(f"Status:   {job.status.value}")
    console.print(f"Created:  {job.created_at}")

    if job.started_at:
        console.print(f"Started:  {job.started_at}")
    if job.completed_at:
        console.print(f"Completed: {job.completed_at}")
    if job.error:
        console.print(f"[red]Error:    {job.error}[/red]")
    if job.transcript and job.transcript.language_code:
        console.print(f"Language: {job.transcript.language_code}")

    # Display PII detection summary
    if job.transcript and job.transcript.pii_info and job.transcript.pii_info.enabled:
        pii = job.transcript.pii_info
        console.print(f"PII:      {pii.entities_detected} entities detected")
        if pii.entity_summary:
            summary_str = ", ".join(f"{k}: {v}" for k, v in pii.entity_summary.items())
            console.print(f"          {summary_str}")


def format_duration(seconds: float) -> str:
    """Format duration as human-readable string.

    Args:
        seconds: Duration in seconds.

    Returns:
        Formatted duration string.
    """
    if seconds < 60:
        return f"{seconds:.0f}s"
    elif seconds < 3600:
        mins = int(seconds // 60)
        secs = int(seconds % 60)
        return f"{mins}m {secs}s"
    else:
        hours = int(seconds // 3600)
        mins = int((seconds % 3600) // 60)
        return f"{hours}h {mins}m"


class LiveOutputHandler:
    """Handler for live human-readable output during real-time transcription."""

    def __init__(self, output_path: str | None = None, show_interim: bool = True):
        """Initialize handler.

        Args:
            output_path: Path to write transcript, or None for stdout only.
            show_interim: Show interim (partial) results.
        """
        self.output_path = output_path
        self.show_interim = show_interim
        self.file = open(output_path, "a") if output_path else None  # noqa: SIM115
        self._last_partial = ""
        self._closed = False

    def __enter__(self) -> LiveOutputHandler:
        """Enter context manager."""
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        """Exit context manager, ensuring file is closed."""
        self.close()

    def close(self) -> None:
        """Close the file handle if open."""
        if self.file and not self._closed:
            self.file.close()
            self._closed = True

    def partial(self, text: str, start: float) -> None:
        """Handle partial transcript.

        Args:
            text: Partial transcript text.
            start: Start timestamp.
        """
        if self.show_interim:
            # Clear previous partial, show new one
            clear = "\r" + " " * len(self._last_partial) + "\r"
            timestamp = f"[{self._format_time(start)}]"
            line = f"{timestamp} {text}..."
            sys.stderr.write(clear + line)
            sys.stderr.flush()
            self._last_partial = line

    def final(
        self, text: str, start: float, end: float, confidence: float | None
    ) -> None:
        """Handle final transcript.

        Args:
            text: Final transcript text.
            start: Start timestamp.
            end: End timestamp.
            confidence: Confidence score.
        """
        # Clear partial line
        if self._last_partial:
            sys.stderr.write("\r" + " " * len(self._last_partial) + "\r")
            self._last_partial = ""

        timestamp = f"[{self._format_time(start)}]"
        line = f"{timestamp} {text}"
        console.print(line)

        if self.file:
            self.file.write(text + "\n")
            self.file.flush()

    def session_end(
        self,
        duration: float,
        speech_duration: float,
    ) -> None:
        """Handle session end.

        Args:
            duration: Total session duration.
            speech_duration: Total speech duration.
        """
        error_console.print(
            f"\n[Session ended: {duration:.1f}s total, {speech_duration:.1f}s speech]"
        )

        self.close()

    def _format_time(self, seconds: float) -> str:
        """Format timestamp as MM:SS."""
        mins = int(seconds // 60)
        secs = int(seconds % 60)
        return f"{mins:02d}:{secs:02d}"


class JsonlOutputHandler:
    """Handler for JSON Lines output during real-time transcription."""

    def __init__(self, output_path: str | None = None):
        """Initialize handler.

        Args:
            output_path: Path to write output, or None for stdout.
        """
        self.output_path = output_path
        self.file = open(output_path, "a") if output_path else sys.stdout  # noqa: SIM115
        self._closed = False

    def __enter__(self) -> JsonlOutputHandler:
        """Enter context manager."""
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        """Exit context manager, ensuring file is closed."""
        self.close()

    def close(self) -> None:
        """Close the file handle if open."""
        if self.file != sys.stdout and not self._closed:
            self.file.close()
            self._closed = True

    def partial(self, text: str, start: float) -> None:
        """Handle partial transcript (ignored in JSONL mode)."""
        pass

    def final(
        self, text: str, start: float, end: float, confidence: float | None
    ) -> None:
        """Handle final transcript.

        Args:
            text: Final transcript text.
            start: Start timestamp.
            end: End timestamp.
            confidence: Confidence score.
        """
        obj = {
            "type": "final",
            "text": text,
            "start": start,
            "end": end,
            "confidence": confidence,
        }
        self.file.write(json.dumps(obj) + "\n")
        self.file.flush()

    def session_end(
        self,
        duration: float,
        speech_duration: float,
    ) -> None:
        """Handle session end.

        Args:
            duration: Total session duration.
            speech_duration: Total speech duration.
        """
        obj: dict[str, Any] = {
            "type": "session_end",
            "duration": duration,
            "speech_duration": speech_duration,
        }
        self.file.write(json.dumps(obj) + "\n")

        self.close()


class JsonOutputHandler:
    """Handler for full JSON output at session end."""

    def __init__(self, output_path: str | None = None):
        """Initialize handler.

        Args:
            output_path: Path to write output, or None for stdout.
        """
        self.output_path = output_path
        self.transcripts: list[dict[str, Any]] = []

    def partial(self, text: str, start: float) -> None:
        """Handle partial transcript (ignored)."""
        pass

    def final(
        self, text: str, start: float, end: float, confidence: float | None
    ) -> None:
        """Handle final transcript.

        Args:
            text: Final transcript text.
            start: Start timestamp.
            end: End timestamp.
            confidence: Confidence score.
        """
        self.transcripts.append(
            {
                "text": text,
                "start": start,
                "end": end,
                "confidence": confidence,
            }
        )

    def session_end(
        self,
        duration: float,
        speech_duration: float,
    ) -> None:
        """Handle session end - output full JSON.

        Args:
            duration: Total session duration.
            speech_duration: Total speech duration.
        """
        data: dict[str, Any] = {
            "duration": duration,
            "speech_duration": speech_duration,
            "transcripts": self.transcripts,
        }

        content = json.dumps(data, indent=2)

        if self.output_path:
            Path(self.output_path).write_text(content)
            error_console.print(f"Written to {self.output_path}")
        else:
            console.print(content)
