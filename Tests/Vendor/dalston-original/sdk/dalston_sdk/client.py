"""Batch transcription client for Dalston.

Provides both synchronous (Dalston) and asynchronous (AsyncDalston) clients
for interacting with the Dalston transcription API.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse
from uuid import UUID

import httpx

from .exceptions import (
    AuthenticationError,
    ConnectError,
    DalstonError,
    ForbiddenError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TimeoutException,
    ValidationError,
)
from .types import (
    Artifact,
    ArtifactList,
    Engine,
    EngineCapabilities,
    EngineList,
    EnginePerformance,
    ExportFormat,
    HardwareRequirements,
    HealthStatus,
    Job,
    JobList,
    JobStatus,
    JobSummary,
    Model,
    ModelCapabilities,
    ModelList,
    PIIEntity,
    PIIInfo,
    PIIRedactionMode,
    RealtimeSessionInfo,
    RealtimeSessionList,
    RealtimeSessionStatus,
    RealtimeStatus,
    Segment,
    SessionToken,
    Speaker,
    SpeakerDetection,
    TimestampGranularity,
    Transcript,
    Word,
)


def _parse_word(w: dict[str, Any]) -> Word:
    """Parse a word dict into Word object."""
    return Word(
        text=w["text"],
        start=w["start"],
        end=w["end"],
        confidence=w.get("confidence"),
        speaker_id=w.get("speaker"),
    )


def _parse_pii_entity(e: dict[str, Any]) -> PIIEntity:
    """Parse a PII entity dict into PIIEntity object."""
    return PIIEntity(
        entity_type=e.get("entity_type", "unknown"),
        category=e.get("category", "pii"),
        start_offset=e.get("start_offset", 0),
        end_offset=e.get("end_offset", 0),
        start_time=e.get("start_time"),
        end_time=e.get("end_time"),
        confidence=e.get("confidence"),
        speaker=e.get("speaker"),
        redacted_value=e.get("redacted_value"),
        original_text=e.get("original_text"),
    )


def _parse_pii_info(data: dict[str, Any]) -> PIIInfo | None:
    """Parse PII info from job response."""
    pii_data = data.get("pii")
    if not pii_data:
        return None
    return PIIInfo(
        enabled=pii_data.get("enabled", False),
        entities_detected=pii_data.get("entities_detected", 0),
        entity_summary=pii_data.get("entity_summary"),
        redacted_audio_available=pii_data.get("redacted_audio_available", False),
    )


def _parse_job(data: dict[str, Any]) -> Job:
    """Parse job response JSON into Job object."""
    transcript = None
    if data.get("text") is not None:
        words = None
        if data.get("words"):
            words = [_parse_word(w) for w in data["words"]]

        segments = None
        if data.get("segments"):
            segments = [
                Segment(
                    id=s.get("id", i),
                    text=s["text"],
                    start=s["start"],
                    end=s["end"],
                    speaker_id=s.get("speaker"),
                    words=[_parse_word(w) for w in s.get("words", [])]
                    if s.get("words")
                    else None,
                )
                for i, s in enumerate(data["segments"])
            ]

        speakers = None
        if data.get("speakers"):
            speakers = [
                Speaker(
                    id=sp["id"],
                    label=sp.get("label"),
                    total_duration=sp.get("total_duration"),
                )
                for sp in data["speakers"]
            ]

        # Parse PII data
        pii_entities = None
        if data.get("entities"):
            pii_entities = [_parse_pii_entity(e) for e in data["entities"]]

        pii_info = _parse_pii_info(data)

        transcript = Transcript(
            text=data["text"],
            language_code=data.get("language_code"),
            words=words,
            segments=segments,
            speakers=speakers,
            redacted_text=data.get("redacted_text"),
            pii_entities=pii_entities,
            pii_info=pii_info,
        )

    return Job(
        id=UUID(data["id"]) if isinstance(data["id"], str) else data["id"],
        status=JobStatus(data["status"]),
        created_at=_parse_datetime(data["created_at"]),
        display_name=data.get("display_name"),
        started_at=_parse_datetime(data.get("started_at")),
        completed_at=_parse_datetime(data.get("completed_at")),
        error=data.get("error"),
        progress=data.get("progress"),
        current_stage=data.get("current_stage"),
        transcript=transcript,
    )


def _parse_datetime(value: str | None) -> datetime | None:
    """Parse ISO datetime string.

    Args:
        value: ISO 8601 datetime string or None.

    Returns:
        Parsed datetime object, or None if value is None or unparseable.
    """
    if value is None:
        return None

    # Handle various ISO formats
    value = value.replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        # Return None for unparseable values to maintain type safety
        return None


def _handle_error(response: httpx.Response) -> None:
    """Raise appropriate exception for error responses."""
    status = response.status_code

    try:
        detail = response.json().get("detail", response.text)
    except Exception:
        detail = response.text

    if status == 401:
        raise AuthenticationError(str(detail))
    elif status == 403:
        raise ForbiddenError(str(detail))
    elif status == 404:
        raise NotFoundError(str(detail))
    elif status == 429:
        retry_after = response.headers.get("Retry-After")
        raise RateLimitError(
            str(detail),
            retry_after=int(retry_after) if retry_after else None,
        )
    elif status == 400 or status == 422:
        raise ValidationError(str(detail), status_code=status)
    elif status >= 500:
        raise ServerError(str(detail))
    else:
        raise DalstonError(str(detail), status_code=status)


class Dalston:
    """Synchronous client for Dalston batch transcription API.

    Example:
        ```python
        client = Dalston(base_url="http://localhost:8000", api_key="your-key")

        # Submit audio for transcription
        job = client.transcribe("audio.mp3", language="en")

        # Wait for completion
        job = client.wait_for_completion(job.id)

        # Access results
        print(job.transcript.text)
        ```
    """

    def __init__(
        self,
        base_url: str = "http://localhost:8000",
        api_key: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        """Initialize the Dalston client.

        Args:
            base_url: Base URL of the Dalston server.
            api_key: Optional API key for authentication.
            timeout: Request timeout in seconds.
        """
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._client = httpx.Client(timeout=timeout)

        # Warn if API key is sent over unencrypted HTTP to non-localhost
        if api_key:
            parsed = urlparse(self.base_url)
            if parsed.scheme == "http" and parsed.hostname not in (
                "localhost",
                "127.0.0.1",
                "::1",
            ):
                warnings.warn(
                    f"API key is being sent over unencrypted HTTP to {parsed.hostname}. "
                    "Consider using HTTPS to protect your credentials.",
                    UserWarning,
                    stacklevel=2,
                )

    def _headers(self) -> dict[str, str]:
        """Build request headers."""
        headers: dict[str, str] = {}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def __enter__(self) -> Dalston:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def transcribe(
        self,
        file: str | Path | BinaryIO | None = None,
        audio_url: str | None = None,
        model: str = "auto",
        language: str = "auto",
        vocabulary: list[str] | None = None,
        speaker_detection: SpeakerDetection | str = SpeakerDetection.NONE,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        timestamps_granularity: TimestampGranularity | str = TimestampGranularity.WORD,
        pii_detection: bool = False,
        pii_entity_types: list[str] | None = None,
        redact_pii_audio: bool = False,
        pii_redaction_mode: PIIRedactionMode | str | None = None,
        retention: int | None = None,
        lite_profile: str = "core",
    ) -> Job:
        """Submit audio for transcription.

        Args:
            file: Path to audio file, or file-like object.
            audio_url: URL to fetch audio from (alternative to file).
            model: Engine ID (e.g., "faster-whisper-base", "parakeet-0.6b") or "auto"
                   for automatic selection based on capabilities. Defaults to "auto".
            language: Language code or "auto" for detection.
            vocabulary: List of terms to boost recognition (e.g., product names,
                technical jargon). Max 100 terms.
            speaker_detection: Speaker detection mode.
            num_speakers: Exact number of speakers (for diarization).
            min_speakers: Minimum speakers for diarization auto-detection.
            max_speakers: Maximum speakers for diarization auto-detection.
            timestamps_granularity: Level of timestamp detail.
            pii_detection: Enable PII detection in transcript.
            pii_entity_types: Specific entity types to detect (e.g., ["ssn", "credit_card_number"]).
                If not specified, uses default entity types.
            redact_pii_audio: Generate redacted audio file with PII removed.
            pii_redaction_mode: Audio redaction mode (silence or beep).
            retention: Retention in days. 0=transient (no storage), -1=permanent
                (never delete), 1-3650=days. If omitted, server default applies.
            lite_profile: Pipeline profile for lite mode servers: "core" (default),
                "speaker", or "compliance". Ignored by distributed mode servers.

        Returns:
            Job object returned by the server (pending for async workflows,
            completed when the server responds inline).

        Raises:
            ValidationError: If neither file nor audio_url provided, or invalid model.
            DalstonError: On API errors.
        """
        if file is None and audio_url is None:
            raise ValidationError("Either file or audio_url must be provided")
        if file is not None and audio_url is not None:
            raise ValidationError("Provide either file or audio_url, not both")

        # Build form data
        data: dict[str, Any] = {
            "model": model,
            "language": language,
            "speaker_detection": (
                speaker_detection.value
                if isinstance(speaker_detection, SpeakerDetection)
                else speaker_detection
            ),
            "timestamps_granularity": (
                timestamps_granularity.value
                if isinstance(timestamps_granularity, TimestampGranularity)
                else timestamps_granularity
            ),
        }

        # Add audio_url if provided
        if audio_url is not None:
            data["audio_url"] = audio_url

        if vocabulary is not None:
            import json

            data["vocabulary"] = json.dumps(vocabulary)
        if num_speakers is not None:
            data["num_speakers"] = num_speakers
        if min_speakers is not None:
            data["min_speakers"] = min_speakers
        if max_speakers is not None:
            data["max_speakers"] = max_speakers

        # PII detection parameters
        if pii_detection:
            data["pii_detection"] = True
        if pii_entity_types is not None:
            import json as json_mod

            data["pii_entity_types"] = json_mod.dumps(pii_entity_types)
        if redact_pii_audio:
            data["redact_pii_audio"] = True
        if pii_redaction_mode is not None:
            data["pii_redaction_mode"] = (
                pii_redaction_mode.value
                if isinstance(pii_redaction_mode, PIIRedactionMode)
                else pii_redaction_mode
            )

        # Retention: 0=transient, -1=permanent, N=days. Omit to use server default.
        if retention is not None:
            data["retention"] = retention

        # Lite mode profile selection (M58). Ignored by distributed servers.
        data["lite_profile"] = lite_profile or "core"

        # Handle file upload
        files: dict[str, Any] | None = None
        opened_file = None
        try:
            if file is not None:
                if isinstance(file, str | Path):
                    path = Path(file)
                    opened_file = open(path, "rb")  # noqa: SIM115
                    files = {"file": (path.name, opened_file)}
                else:
                    # File-like object - extract basename for cross-platform safety
                    filename = getattr(file, "name", "audio")
                    if isinstance(filename, str):
                        filename = Path(filename).name
                    files = {"file": (filename, file)}

            response = self._client.post(
                f"{self.base_url}/v1/audio/transcriptions",
                data=data,
                files=files,
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e
        finally:
            # Close file if we opened it
            if opened_file is not None:
                opened_file.close()

        if response.status_code not in (200, 201):
            _handle_error(response)

        return _parse_job(response.json())

    def get_job(self, job_id: UUID | str) -> Job:
        """Get job status and results.

        Args:
            job_id: Job ID to retrieve.

        Returns:
            Job object with current status and transcript if completed.

        Raises:
            NotFoundError: If job doesn't exist.
        """
        try:
            response = self._client.get(
                f"{self.base_url}/v1/audio/transcriptions/{job_id}",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        return _parse_job(response.json())

    def list_jobs(
        self,
        limit: int = 20,
        cursor: str | None = None,
        status: JobStatus | str | None = None,
        since: datetime | str | None = None,
    ) -> JobList:
        """List transcription jobs.

        Args:
            limit: Maximum number of jobs to return (1-100).
            cursor: Pagination cursor from previous response.
            status: Filter by job status.
            since: Only return jobs created at or after this ISO 8601 timestamp
                (``datetime`` or string).

        Returns:
            JobList with jobs and pagination info.
        """
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        if status is not None:
            params["status"] = status.value if isinstance(status, JobStatus) else status
        if since is not None:
            params["since"] = (
                since.isoformat() if isinstance(since, datetime) else since
            )

        try:
            response = self._client.get(
                f"{self.base_url}/v1/audio/transcriptions",
                params=params,
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        return JobList(
            jobs=[
                JobSummary(
                    id=UUID(j["id"]) if isinstance(j["id"], str) else j["id"],
                    status=JobStatus(j["status"]),
                    created_at=_parse_datetime(j["created_at"]),
                    display_name=j.get("display_name"),
                    started_at=_parse_datetime(j.get("started_at")),
                    completed_at=_parse_datetime(j.get("completed_at")),
                    progress=j.get("progress"),
                    audio_duration_seconds=j.get("audio_duration_seconds"),
                    result_language_code=j.get("result_language_code"),
                    result_word_count=j.get("result_word_count"),
                    result_segment_count=j.get("result_segment_count"),
                    result_speaker_count=j.get("result_speaker_count"),
                    wait_ms=j.get("wait_ms"),
                    processing_ms=j.get("processing_ms"),
                )
                for j in data["jobs"]
            ],
            cursor=data.get("cursor"),
            has_more=data.get("has_more", False),
        )

    def cancel(self, job_id: UUID | str) -> Job:
        """Cancel a pending or running job.

        Cancellation is "soft": running tasks complete naturally, only
        queued/pending work is cancelled.

        Args:
            job_id: Job ID to cancel.

        Returns:
            Job object with updated status (cancelling or cancelled).

        Raises:
            NotFoundError: If job doesn't exist.
            ValidationError: If job is not in a cancellable state.
        """
        try:
            response = self._client.post(
                f"{self.base_url}/v1/audio/transcriptions/{job_id}/cancel",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        return Job(
            id=UUID(data["id"]) if isinstance(data["id"], str) else data["id"],
            status=JobStatus(data["status"]),
            created_at=_parse_datetime(None),  # Not in cancel response
        )

    def wait_for_completion(
        self,
        job_id: UUID | str,
        poll_interval: float = 1.0,
        timeout: float | None = None,
        on_progress: Callable[[int, str | None], None] | None = None,
    ) -> Job:
        """Wait for job to complete.

        Args:
            job_id: Job ID to wait for.
            poll_interval: Seconds between status checks.
            timeout: Maximum time to wait (None for unlimited).
            on_progress: Callback for progress updates (progress, stage).

        Returns:
            Completed job with transcript.

        Raises:
            TimeoutError: If timeout exceeded.
            DalstonError: If job fails.
        """
        start_time = time.monotonic()

        while True:
            job = self.get_job(job_id)

            if job.status == JobStatus.COMPLETED:
                return job
            elif job.status == JobStatus.FAILED:
                raise DalstonError(
                    f"Job failed: {job.error or 'Unknown error'}",
                    status_code=None,
                )
            elif job.status == JobStatus.CANCELLED:
                raise DalstonError("Job was cancelled", status_code=None)

            # Call progress callback
            if on_progress and job.progress is not None:
                on_progress(job.progress, job.current_stage)

            # Check timeout
            if timeout is not None:
                elapsed = time.monotonic() - start_time
                if elapsed >= timeout:
                    raise TimeoutException(
                        f"Timeout waiting for job {job_id} after {elapsed:.1f}s"
                    )

            time.sleep(poll_interval)

    def export(
        self,
        job_id: UUID | str,
        format: ExportFormat | str = ExportFormat.JSON,
        include_speakers: bool = True,
        max_line_length: int = 42,
        max_lines: int = 2,
    ) -> str | dict[str, Any]:
        """Export transcript in specified format.

        Args:
            job_id: Job ID to export.
            format: Export format (srt, vtt, txt, json).
            include_speakers: Include speaker labels in output.
            max_line_length: Max characters per subtitle line.
            max_lines: Max lines per subtitle block.

        Returns:
            Exported transcript as string (srt/vtt/txt) or dict (json).

        Raises:
            NotFoundError: If job doesn't exist.
            ValidationError: If job not completed or invalid format.
        """
        format_str = format.value if isinstance(format, ExportFormat) else format

        params = {
            "include_speakers": include_speakers,
            "max_line_length": max_line_length,
            "max_lines": max_lines,
        }

        try:
            response = self._client.get(
                f"{self.base_url}/v1/audio/transcriptions/{job_id}/export/{format_str}",
                params=params,
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        if format_str == "json":
            return response.json()
        return response.text

    def health(self) -> HealthStatus:
        """Check server health.

        Returns:
            HealthStatus with server status.

        Raises:
            ConnectionError: If server is unreachable.
        """
        try:
            response = self._client.get(
                f"{self.base_url}/health",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        return HealthStatus(status=data.get("status", "unknown"))

    def list_models(self) -> ModelList:
        """List available transcription models from the catalog.

        M36: Returns all model variants that can be used with the `model` parameter.
        Each model maps to a engine_id that can load it.

        Returns:
            ModelList with all available models.

        Raises:
            ConnectionError: If server is unreachable.
        """
        try:
            response = self._client.get(
                f"{self.base_url}/v1/models",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        models = []
        for m in data.get("data", []):
            hardware = None
            if m.get("hardware"):
                hardware = HardwareRequirements(
                    gpu_required=False,  # Not in new schema
                    supports_cpu=m["hardware"].get("supports_cpu", False),
                    min_vram_gb=m["hardware"].get("min_vram_gb"),
                    min_ram_gb=m["hardware"].get("min_ram_gb"),
                )
            models.append(
                Model(
                    id=m["id"],
                    stage=m.get("stage", "transcribe"),
                    capabilities=ModelCapabilities(
                        languages=m.get("languages"),
                        native_streaming=m.get("native_streaming", False),
                        word_timestamps=m.get("word_timestamps", False),
                        punctuation=m.get("punctuation", False),
                        capitalization=m.get("capitalization", False),
                    ),
                    hardware=hardware,
                    name=m.get("name"),
                    engine_id=m.get("engine_id"),
                    loaded_model_id=m.get("loaded_model_id"),
                    source=m.get("source"),
                    size_gb=m.get("size_gb"),
                )
            )
        return ModelList(models=models)

    def get_model(self, model_id: str) -> Model:
        """Get details for a specific model from the catalog.

        Args:
            model_id: Model identifier (e.g., 'parakeet-tdt-1.1b').

        Returns:
            Model with full details.

        Raises:
            NotFoundError: If model doesn't exist in catalog.
            ConnectionError: If server is unreachable.
        """
        try:
            response = self._client.get(
                f"{self.base_url}/v1/models/{model_id}",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        m = response.json()
        hardware = None
        if m.get("hardware"):
            hardware = HardwareRequirements(
                gpu_required=False,
                supports_cpu=m["hardware"].get("supports_cpu", False),
                min_vram_gb=m["hardware"].get("min_vram_gb"),
                min_ram_gb=m["hardware"].get("min_ram_gb"),
            )
        return Model(
            id=m["id"],
            stage=m.get("stage", "transcribe"),
            capabilities=ModelCapabilities(
                languages=m.get("languages"),
                native_streaming=m.get("native_streaming", False),
                word_timestamps=m.get("word_timestamps", False),
                punctuation=m.get("punctuation", False),
                capitalization=m.get("capitalization", False),
            ),
            hardware=hardware,
            name=m.get("name"),
            engine_id=m.get("engine_id"),
            loaded_model_id=m.get("loaded_model_id"),
            source=m.get("source"),
            size_gb=m.get("size_gb"),
        )

    def list_engines(self) -> EngineList:
        """List all engines with their current status (M36).

        Returns engines from the catalog with their engine_id status:
        - "running": Engine has valid heartbeat
        - "available": In catalog but not running
        - "unhealthy": Heartbeat expired

        Returns:
            EngineList with all engines and their status.

        Raises:
            ConnectionError: If server is unreachable.
        """
        try:
            response = self._client.get(
                f"{self.base_url}/v1/engines",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        engines = []
        for e in data.get("engines", []):
            hardware = None
            if e.get("hardware"):
                hardware = HardwareRequirements(
                    gpu_required=e["hardware"].get("gpu_required", False),
                    supports_cpu=e["hardware"].get("supports_cpu", True),
                    min_vram_gb=e["hardware"].get("min_vram_gb"),
                    min_ram_gb=e["hardware"].get("min_ram_gb"),
                )
            performance = None
            if e.get("performance"):
                performance = EnginePerformance(
                    rtf_gpu=e["performance"].get("rtf_gpu"),
                    rtf_cpu=e["performance"].get("rtf_cpu"),
                )
            engines.append(
                Engine(
                    id=e["id"],
                    name=e.get("name"),
                    stage=e.get("stage", "unknown"),
                    version=e.get("version", "unknown"),
                    status=e.get("status", "unknown"),
                    loaded_model=e.get("loaded_model"),
                    available_models=e.get("available_models"),
                    capabilities=EngineCapabilities(
                        languages=e["capabilities"].get("languages"),
                        supports_word_timestamps=e["capabilities"].get(
                            "supports_word_timestamps", False
                        ),
                        supports_native_streaming=e["capabilities"].get(
                            "supports_native_streaming", False
                        ),
                        max_audio_duration_s=e["capabilities"].get(
                            "max_audio_duration_s"
                        ),
                        max_concurrency=e["capabilities"].get("max_concurrency"),
                    ),
                    hardware=hardware,
                    performance=performance,
                )
            )
        return EngineList(engines=engines, total=data.get("total", len(engines)))

    def get_realtime_status(self) -> RealtimeStatus:
        """Get real-time transcription system status.

        Returns:
            RealtimeStatus with capacity and availability info.

        Raises:
            ConnectionError: If server is unreachable.
        """
        try:
            response = self._client.get(
                f"{self.base_url}/v1/realtime/status",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        return RealtimeStatus(
            status=data.get("status", "unknown"),
            total_capacity=data.get("total_capacity", 0),
            active_sessions=data.get("active_sessions", 0),
            available_capacity=data.get("available_capacity", 0),
            worker_count=data.get("worker_count", 0),
            ready_workers=data.get("ready_workers", 0),
        )

    def create_session_token(
        self,
        ttl: int = 600,
        scopes: list[str] | None = None,
    ) -> SessionToken:
        """Create an ephemeral session token for client-side WebSocket auth.

        Session tokens are short-lived and designed for browser clients
        that need to connect directly to WebSocket endpoints without
        exposing long-lived API keys.

        Args:
            ttl: Time-to-live in seconds (60-3600). Default 600 (10 minutes).
            scopes: Requested scopes. Defaults to ["realtime"].
                    Cannot exceed the parent API key's scopes.

        Returns:
            SessionToken with the token and expiry info.

        Raises:
            PermissionError: If API key lacks 'realtime' scope.
            ValidationError: If invalid scopes or TTL.
        """
        payload: dict[str, Any] = {"ttl": ttl}
        if scopes is not None:
            payload["scopes"] = scopes

        try:
            response = self._client.post(
                f"{self.base_url}/auth/tokens",
                json=payload,
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 201:
            _handle_error(response)

        data = response.json()
        return SessionToken(
            token=data["token"],
            expires_at=_parse_datetime(data["expires_at"]),
            scopes=data["scopes"],
            tenant_id=UUID(data["tenant_id"]),
        )

    def list_realtime_sessions(
        self,
        status: RealtimeSessionStatus | str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RealtimeSessionList:
        """List realtime transcription sessions.

        Args:
            status: Filter by session status.
            limit: Maximum number of sessions to return (1-100).
            cursor: Pagination cursor from previous response.

        Returns:
            RealtimeSessionList with sessions and pagination info.
        """
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        if status is not None:
            params["status"] = (
                status.value if isinstance(status, RealtimeSessionStatus) else status
            )

        try:
            response = self._client.get(
                f"{self.base_url}/v1/realtime/sessions",
                params=params,
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        return RealtimeSessionList(
            sessions=[
                RealtimeSessionInfo(
                    id=s["id"],
                    status=RealtimeSessionStatus(s["status"]),
                    language=s.get("language"),
                    model=s.get("model"),
                    engine_id=s.get("engine_id"),
                    audio_duration_seconds=s.get("audio_duration_seconds", 0),
                    segment_count=s.get("segment_count", 0),
                    word_count=s.get("word_count", 0),
                    store_audio=s.get("store_audio", False),
                    store_transcript=s.get("store_transcript", False),
                    started_at=_parse_datetime(s["started_at"]),
                    ended_at=_parse_datetime(s.get("ended_at")),
                    error=s.get("error"),
                )
                for s in data["sessions"]
            ],
            cursor=data.get("cursor"),
            has_more=data.get("has_more", False),
        )

    def get_realtime_session(self, session_id: str) -> RealtimeSessionInfo:
        """Get realtime session details.

        Args:
            session_id: Session ID to retrieve.

        Returns:
            RealtimeSessionInfo with full details.

        Raises:
            NotFoundError: If session doesn't exist.
        """
        try:
            response = self._client.get(
                f"{self.base_url}/v1/realtime/sessions/{session_id}",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        s = response.json()
        return RealtimeSessionInfo(
            id=s["id"],
            status=RealtimeSessionStatus(s["status"]),
            language=s.get("language"),
            model=s.get("model"),
            engine_id=s.get("engine_id"),
            audio_duration_seconds=s.get("audio_duration_seconds", 0),
            segment_count=s.get("segment_count", 0),
            word_count=s.get("word_count", 0),
            store_audio=s.get("store_audio", False),
            store_transcript=s.get("store_transcript", False),
            started_at=_parse_datetime(s["started_at"]),
            ended_at=_parse_datetime(s.get("ended_at")),
            error=s.get("error"),
        )

    def delete_realtime_session(self, session_id: str) -> bool:
        """Delete a realtime session.

        Only non-active sessions (completed, error, interrupted) can be deleted.

        Args:
            session_id: Session ID to delete.

        Returns:
            True if deleted successfully.

        Raises:
            NotFoundError: If session doesn't exist.
            ValidationError: If session is still active (status code 409).
        """
        try:
            response = self._client.delete(
                f"{self.base_url}/v1/realtime/sessions/{session_id}",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        return True

    def get_job_artifacts(
        self,
        job_id: str,
        include_purged: bool = False,
    ) -> ArtifactList:
        """List artifacts for a job.

        Args:
            job_id: Job ID.
            include_purged: Include already-purged artifacts.

        Returns:
            ArtifactList with all job artifacts.

        Raises:
            NotFoundError: If job doesn't exist.
        """
        params = {}
        if include_purged:
            params["include_purged"] = "true"

        try:
            response = self._client.get(
                f"{self.base_url}/v2/jobs/{job_id}/artifacts",
                headers=self._headers(),
                params=params,
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        return _parse_artifact_list(response.json())

    def get_session_artifacts(
        self,
        session_id: str,
        include_purged: bool = False,
    ) -> ArtifactList:
        """List artifacts for a realtime session.

        Args:
            session_id: Session ID.
            include_purged: Include already-purged artifacts.

        Returns:
            ArtifactList with all session artifacts.

        Raises:
            NotFoundError: If session doesn't exist.
        """
        params = {}
        if include_purged:
            params["include_purged"] = "true"

        try:
            response = self._client.get(
                f"{self.base_url}/v2/realtime/sessions/{session_id}/artifacts",
                headers=self._headers(),
                params=params,
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        return _parse_artifact_list(response.json())


def _parse_artifact(data: dict[str, Any]) -> Artifact:
    """Parse artifact response."""
    return Artifact(
        id=data["id"],
        artifact_type=data["artifact_type"],
        uri=data["uri"],
        sensitivity=data["sensitivity"],
        compliance_tags=data.get("compliance_tags"),
        store=data.get("store", True),
        ttl_seconds=data.get("ttl_seconds"),
        created_at=_parse_datetime(data["created_at"]),
        available_at=_parse_datetime(data["available_at"]),
        purge_after=_parse_datetime(data.get("purge_after")),
        purged_at=_parse_datetime(data.get("purged_at")),
    )


def _parse_artifact_list(data: dict[str, Any]) -> ArtifactList:
    """Parse artifact list response."""
    return ArtifactList(
        owner_type=data["owner_type"],
        owner_id=data["owner_id"],
        artifacts=[_parse_artifact(a) for a in data.get("artifacts", [])],
    )


class AsyncDalston:
    """Asynchronous client for Dalston batch transcription API.

    Example:
        ```python
        async with AsyncDalston(base_url="http://localhost:8000") as client:
            job = await client.transcribe("audio.mp3")
            job = await client.wait_for_completion(job.id)
            print(job.transcript.text)
        ```
    """

    def __init__(
        self,
        base_url: str = "http://localhost:8000",
        api_key: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        """Initialize the async Dalston client.

        Args:
            base_url: Base URL of the Dalston server.
            api_key: Optional API key for authentication.
            timeout: Request timeout in seconds.
        """
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._client = httpx.AsyncClient(timeout=timeout)

        # Warn if API key is sent over unencrypted HTTP to non-localhost
        if api_key:
            parsed = urlparse(self.base_url)
            if parsed.scheme == "http" and parsed.hostname not in (
                "localhost",
                "127.0.0.1",
                "::1",
            ):
                warnings.warn(
                    f"API key is being sent over unencrypted HTTP to {parsed.hostname}. "
                    "Consider using HTTPS to protect your credentials.",
                    UserWarning,
                    stacklevel=2,
                )

    def _headers(self) -> dict[str, str]:
        """Build request headers."""
        headers: dict[str, str] = {}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def __aenter__(self) -> AsyncDalston:
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.close()

    async def transcribe(
        self,
        file: str | Path | BinaryIO | None = None,
        audio_url: str | None = None,
        model: str = "auto",
        language: str = "auto",
        vocabulary: list[str] | None = None,
        speaker_detection: SpeakerDetection | str = SpeakerDetection.NONE,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        timestamps_granularity: TimestampGranularity | str = TimestampGranularity.WORD,
        pii_detection: bool = False,
        pii_entity_types: list[str] | None = None,
        redact_pii_audio: bool = False,
        pii_redaction_mode: PIIRedactionMode | str | None = None,
        retention: int | None = None,
        lite_profile: str = "core",
    ) -> Job:
        """Submit audio for transcription.

        Args:
            file: Path to audio file, or file-like object.
            audio_url: URL to fetch audio from (alternative to file).
            model: Engine ID (e.g., "faster-whisper-base", "parakeet-0.6b") or "auto"
                   for automatic selection based on capabilities. Defaults to "auto".
            language: Language code or "auto" for detection.
            vocabulary: List of terms to boost recognition (e.g., product names,
                technical jargon). Max 100 terms.
            speaker_detection: Speaker detection mode.
            num_speakers: Exact number of speakers (for diarization).
            min_speakers: Minimum speakers for diarization auto-detection.
            max_speakers: Maximum speakers for diarization auto-detection.
            timestamps_granularity: Level of timestamp detail.
            pii_detection: Enable PII detection in transcript.
            pii_entity_types: Specific entity types to detect (e.g., ["ssn", "credit_card_number"]).
                If not specified, uses default entity types.
            redact_pii_audio: Generate redacted audio file with PII removed.
            retention: Retention in days. 0=transient (no storage), -1=permanent
                (never delete), 1-3650=days. If omitted, server default applies.
            pii_redaction_mode: Audio redaction mode (silence or beep).
            lite_profile: Pipeline profile for lite mode servers: "core" (default),
                "speaker", or "compliance". Ignored by distributed mode servers.

        Returns:
            Job object returned by the server (pending for async workflows,
            completed when the server responds inline).
        """
        if file is None and audio_url is None:
            raise ValidationError("Either file or audio_url must be provided")
        if file is not None and audio_url is not None:
            raise ValidationError("Provide either file or audio_url, not both")

        # Build form data
        data: dict[str, Any] = {
            "model": model,
            "language": language,
            "speaker_detection": (
                speaker_detection.value
                if isinstance(speaker_detection, SpeakerDetection)
                else speaker_detection
            ),
            "timestamps_granularity": (
                timestamps_granularity.value
                if isinstance(timestamps_granularity, TimestampGranularity)
                else timestamps_granularity
            ),
        }

        # Add audio_url if provided
        if audio_url is not None:
            data["audio_url"] = audio_url

        if vocabulary is not None:
            import json

            data["vocabulary"] = json.dumps(vocabulary)
        if num_speakers is not None:
            data["num_speakers"] = num_speakers
        if min_speakers is not None:
            data["min_speakers"] = min_speakers
        if max_speakers is not None:
            data["max_speakers"] = max_speakers

        # PII detection parameters
        if pii_detection:
            data["pii_detection"] = True
        if pii_entity_types is not None:
            import json as json_mod

            data["pii_entity_types"] = json_mod.dumps(pii_entity_types)
        if redact_pii_audio:
            data["redact_pii_audio"] = True
        if pii_redaction_mode is not None:
            data["pii_redaction_mode"] = (
                pii_redaction_mode.value
                if isinstance(pii_redaction_mode, PIIRedactionMode)
                else pii_redaction_mode
            )

        # Retention: 0=transient, -1=permanent, N=days. Omit to use server default.
        if retention is not None:
            data["retention"] = retention

        # Lite mode profile selection (M58). Ignored by distributed servers.
        data["lite_profile"] = lite_profile or "core"

        # Handle file upload
        files: dict[str, Any] | None = None
        opened_file = None
        if file is not None:
            if isinstance(file, str | Path):
                path = Path(file)
                opened_file = open(path, "rb")  # noqa: SIM115
                files = {"file": (path.name, opened_file)}
            else:
                # File-like object - extract basename for cross-platform safety
                filename = getattr(file, "name", "audio")
                if isinstance(filename, str):
                    filename = Path(filename).name
                files = {"file": (filename, file)}

        try:
            response = await self._client.post(
                f"{self.base_url}/v1/audio/transcriptions",
                data=data,
                files=files,
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e
        finally:
            if opened_file:
                opened_file.close()

        if response.status_code not in (200, 201):
            _handle_error(response)

        return _parse_job(response.json())

    async def get_job(self, job_id: UUID | str) -> Job:
        """Get job status and results.

        Args:
            job_id: Job ID to retrieve.

        Returns:
            Job object with current status and transcript if completed.
        """
        try:
            response = await self._client.get(
                f"{self.base_url}/v1/audio/transcriptions/{job_id}",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        return _parse_job(response.json())

    async def list_jobs(
        self,
        limit: int = 20,
        cursor: str | None = None,
        status: JobStatus | str | None = None,
        since: datetime | str | None = None,
    ) -> JobList:
        """List transcription jobs.

        Args:
            limit: Maximum number of jobs to return (1-100).
            cursor: Pagination cursor from previous response.
            status: Filter by job status.
            since: Only return jobs created at or after this ISO 8601 timestamp
                (``datetime`` or string).

        Returns:
            JobList with jobs and pagination info.
        """
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        if status is not None:
            params["status"] = status.value if isinstance(status, JobStatus) else status
        if since is not None:
            params["since"] = (
                since.isoformat() if isinstance(since, datetime) else since
            )

        try:
            response = await self._client.get(
                f"{self.base_url}/v1/audio/transcriptions",
                params=params,
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        return JobList(
            jobs=[
                JobSummary(
                    id=UUID(j["id"]) if isinstance(j["id"], str) else j["id"],
                    status=JobStatus(j["status"]),
                    created_at=_parse_datetime(j["created_at"]),
                    display_name=j.get("display_name"),
                    started_at=_parse_datetime(j.get("started_at")),
                    completed_at=_parse_datetime(j.get("completed_at")),
                    progress=j.get("progress"),
                    audio_duration_seconds=j.get("audio_duration_seconds"),
                    result_language_code=j.get("result_language_code"),
                    result_word_count=j.get("result_word_count"),
                    result_segment_count=j.get("result_segment_count"),
                    result_speaker_count=j.get("result_speaker_count"),
                    wait_ms=j.get("wait_ms"),
                    processing_ms=j.get("processing_ms"),
                )
                for j in data["jobs"]
            ],
            cursor=data.get("cursor"),
            has_more=data.get("has_more", False),
        )

    async def cancel(self, job_id: UUID | str) -> Job:
        """Cancel a pending or running job.

        Cancellation is "soft": running tasks complete naturally, only
        queued/pending work is cancelled.

        Args:
            job_id: Job ID to cancel.

        Returns:
            Job object with updated status (cancelling or cancelled).

        Raises:
            NotFoundError: If job doesn't exist.
            ValidationError: If job is not in a cancellable state.
        """
        try:
            response = await self._client.post(
                f"{self.base_url}/v1/audio/transcriptions/{job_id}/cancel",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        return Job(
            id=UUID(data["id"]) if isinstance(data["id"], str) else data["id"],
            status=JobStatus(data["status"]),
            created_at=_parse_datetime(None),  # Not in cancel response
        )

    async def wait_for_completion(
        self,
        job_id: UUID | str,
        poll_interval: float = 1.0,
        timeout: float | None = None,
        on_progress: Callable[[int, str | None], None] | None = None,
    ) -> Job:
        """Wait for job to complete.

        Args:
            job_id: Job ID to wait for.
            poll_interval: Seconds between status checks.
            timeout: Maximum time to wait (None for unlimited).
            on_progress: Callback for progress updates (progress, stage).

        Returns:
            Completed job with transcript.
        """
        import asyncio

        start_time = time.monotonic()

        while True:
            job = await self.get_job(job_id)

            if job.status == JobStatus.COMPLETED:
                return job
            elif job.status == JobStatus.FAILED:
                raise DalstonError(
                    f"Job failed: {job.error or 'Unknown error'}",
                    status_code=None,
                )
            elif job.status == JobStatus.CANCELLED:
                raise DalstonError("Job was cancelled", status_code=None)

            # Call progress callback
            if on_progress and job.progress is not None:
                on_progress(job.progress, job.current_stage)

            # Check timeout
            if timeout is not None:
                elapsed = time.monotonic() - start_time
                if elapsed >= timeout:
                    raise TimeoutException(
                        f"Timeout waiting for job {job_id} after {elapsed:.1f}s"
                    )

            await asyncio.sleep(poll_interval)

    async def export(
        self,
        job_id: UUID | str,
        format: ExportFormat | str = ExportFormat.JSON,
        include_speakers: bool = True,
        max_line_length: int = 42,
        max_lines: int = 2,
    ) -> str | dict[str, Any]:
        """Export transcript in specified format.

        Args:
            job_id: Job ID to export.
            format: Export format (srt, vtt, txt, json).
            include_speakers: Include speaker labels in output.
            max_line_length: Max characters per subtitle line.
            max_lines: Max lines per subtitle block.

        Returns:
            Exported transcript as string (srt/vtt/txt) or dict (json).
        """
        format_str = format.value if isinstance(format, ExportFormat) else format

        params = {
            "include_speakers": include_speakers,
            "max_line_length": max_line_length,
            "max_lines": max_lines,
        }

        try:
            response = await self._client.get(
                f"{self.base_url}/v1/audio/transcriptions/{job_id}/export/{format_str}",
                params=params,
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        if format_str == "json":
            return response.json()
        return response.text

    async def health(self) -> HealthStatus:
        """Check server health.

        Returns:
            HealthStatus with server status.

        Raises:
            ConnectionError: If server is unreachable.
        """
        try:
            response = await self._client.get(
                f"{self.base_url}/health",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        return HealthStatus(status=data.get("status", "unknown"))

    async def list_models(self) -> ModelList:
        """List available transcription models from the catalog.

        M36: Returns all model variants that can be used with the `model` parameter.
        Each model maps to a engine_id that can load it.

        Returns:
            ModelList with all available models.

        Raises:
            ConnectionError: If server is unreachable.
        """
        try:
            response = await self._client.get(
                f"{self.base_url}/v1/models",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        models = []
        for m in data.get("data", []):
            hardware = None
            if m.get("hardware"):
                hardware = HardwareRequirements(
                    gpu_required=False,
                    supports_cpu=m["hardware"].get("supports_cpu", False),
                    min_vram_gb=m["hardware"].get("min_vram_gb"),
                    min_ram_gb=m["hardware"].get("min_ram_gb"),
                )
            models.append(
                Model(
                    id=m["id"],
                    stage=m.get("stage", "transcribe"),
                    capabilities=ModelCapabilities(
                        languages=m.get("languages"),
                        native_streaming=m.get("native_streaming", False),
                        word_timestamps=m.get("word_timestamps", False),
                        punctuation=m.get("punctuation", False),
                        capitalization=m.get("capitalization", False),
                    ),
                    hardware=hardware,
                    name=m.get("name"),
                    engine_id=m.get("engine_id"),
                    loaded_model_id=m.get("loaded_model_id"),
                    source=m.get("source"),
                    size_gb=m.get("size_gb"),
                )
            )
        return ModelList(models=models)

    async def get_model(self, model_id: str) -> Model:
        """Get details for a specific model from the catalog.

        Args:
            model_id: Model identifier (e.g., 'parakeet-tdt-1.1b').

        Returns:
            Model with full details.

        Raises:
            NotFoundError: If model doesn't exist in catalog.
            ConnectionError: If server is unreachable.
        """
        try:
            response = await self._client.get(
                f"{self.base_url}/v1/models/{model_id}",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        m = response.json()
        hardware = None
        if m.get("hardware"):
            hardware = HardwareRequirements(
                gpu_required=False,
                supports_cpu=m["hardware"].get("supports_cpu", False),
                min_vram_gb=m["hardware"].get("min_vram_gb"),
                min_ram_gb=m["hardware"].get("min_ram_gb"),
            )
        return Model(
            id=m["id"],
            stage=m.get("stage", "transcribe"),
            capabilities=ModelCapabilities(
                languages=m.get("languages"),
                native_streaming=m.get("native_streaming", False),
                word_timestamps=m.get("word_timestamps", False),
                punctuation=m.get("punctuation", False),
                capitalization=m.get("capitalization", False),
            ),
            hardware=hardware,
            name=m.get("name"),
            engine_id=m.get("engine_id"),
            loaded_model_id=m.get("loaded_model_id"),
            source=m.get("source"),
            size_gb=m.get("size_gb"),
        )

    async def list_engines(self) -> EngineList:
        """List all engines with their current status (M36).

        Returns engines from the catalog with their engine_id status:
        - "running": Engine has valid heartbeat
        - "available": In catalog but not running
        - "unhealthy": Heartbeat expired

        Returns:
            EngineList with all engines and their status.

        Raises:
            ConnectionError: If server is unreachable.
        """
        try:
            response = await self._client.get(
                f"{self.base_url}/v1/engines",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        engines = []
        for e in data.get("engines", []):
            hardware = None
            if e.get("hardware"):
                hardware = HardwareRequirements(
                    gpu_required=e["hardware"].get("gpu_required", False),
                    supports_cpu=e["hardware"].get("supports_cpu", True),
                    min_vram_gb=e["hardware"].get("min_vram_gb"),
                    min_ram_gb=e["hardware"].get("min_ram_gb"),
                )
            performance = None
            if e.get("performance"):
                performance = EnginePerformance(
                    rtf_gpu=e["performance"].get("rtf_gpu"),
                    rtf_cpu=e["performance"].get("rtf_cpu"),
                )
            engines.append(
                Engine(
                    id=e["id"],
                    name=e.get("name"),
                    stage=e.get("stage", "unknown"),
                    version=e.get("version", "unknown"),
                    status=e.get("status", "unknown"),
                    loaded_model=e.get("loaded_model"),
                    available_models=e.get("available_models"),
                    capabilities=EngineCapabilities(
                        languages=e["capabilities"].get("languages"),
                        supports_word_timestamps=e["capabilities"].get(
                            "supports_word_timestamps", False
                        ),
                        supports_native_streaming=e["capabilities"].get(
                            "supports_native_streaming", False
                        ),
                        max_audio_duration_s=e["capabilities"].get(
                            "max_audio_duration_s"
                        ),
                        max_concurrency=e["capabilities"].get("max_concurrency"),
                    ),
                    hardware=hardware,
                    performance=performance,
                )
            )
        return EngineList(engines=engines, total=data.get("total", len(engines)))

    async def get_realtime_status(self) -> RealtimeStatus:
        """Get real-time transcription system status.

        Returns:
            RealtimeStatus with capacity and availability info.

        Raises:
            ConnectionError: If server is unreachable.
        """
        try:
            response = await self._client.get(
                f"{self.base_url}/v1/realtime/status",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        return RealtimeStatus(
            status=data.get("status", "unknown"),
            total_capacity=data.get("total_capacity", 0),
            active_sessions=data.get("active_sessions", 0),
            available_capacity=data.get("available_capacity", 0),
            worker_count=data.get("worker_count", 0),
            ready_workers=data.get("ready_workers", 0),
        )

    async def create_session_token(
        self,
        ttl: int = 600,
        scopes: list[str] | None = None,
    ) -> SessionToken:
        """Create an ephemeral session token for client-side WebSocket auth.

        Session tokens are short-lived and designed for browser clients
        that need to connect directly to WebSocket endpoints without
        exposing long-lived API keys.

        Args:
            ttl: Time-to-live in seconds (60-3600). Default 600 (10 minutes).
            scopes: Requested scopes. Defaults to ["realtime"].
                    Cannot exceed the parent API key's scopes.

        Returns:
            SessionToken with the token and expiry info.

        Raises:
            PermissionError: If API key lacks 'realtime' scope.
            ValidationError: If invalid scopes or TTL.
        """
        payload: dict[str, Any] = {"ttl": ttl}
        if scopes is not None:
            payload["scopes"] = scopes

        try:
            response = await self._client.post(
                f"{self.base_url}/auth/tokens",
                json=payload,
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 201:
            _handle_error(response)

        data = response.json()
        return SessionToken(
            token=data["token"],
            expires_at=_parse_datetime(data["expires_at"]),
            scopes=data["scopes"],
            tenant_id=UUID(data["tenant_id"]),
        )

    async def list_realtime_sessions(
        self,
        status: RealtimeSessionStatus | str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RealtimeSessionList:
        """List realtime transcription sessions.

        Args:
            status: Filter by session status.
            limit: Maximum number of sessions to return (1-100).
            cursor: Pagination cursor from previous response.

        Returns:
            RealtimeSessionList with sessions and pagination info.
        """
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        if status is not None:
            params["status"] = (
                status.value if isinstance(status, RealtimeSessionStatus) else status
            )

        try:
            response = await self._client.get(
                f"{self.base_url}/v1/realtime/sessions",
                params=params,
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        data = response.json()
        return RealtimeSessionList(
            sessions=[
                RealtimeSessionInfo(
                    id=s["id"],
                    status=RealtimeSessionStatus(s["status"]),
                    language=s.get("language"),
                    model=s.get("model"),
                    engine_id=s.get("engine_id"),
                    audio_duration_seconds=s.get("audio_duration_seconds", 0),
                    segment_count=s.get("segment_count", 0),
                    word_count=s.get("word_count", 0),
                    store_audio=s.get("store_audio", False),
                    store_transcript=s.get("store_transcript", False),
                    started_at=_parse_datetime(s["started_at"]),
                    ended_at=_parse_datetime(s.get("ended_at")),
                    error=s.get("error"),
                )
                for s in data["sessions"]
            ],
            cursor=data.get("cursor"),
            has_more=data.get("has_more", False),
        )

    async def get_realtime_session(self, session_id: str) -> RealtimeSessionInfo:
        """Get realtime session details.

        Args:
            session_id: Session ID to retrieve.

        Returns:
            RealtimeSessionInfo with full details.

        Raises:
            NotFoundError: If session doesn't exist.
        """
        try:
            response = await self._client.get(
                f"{self.base_url}/v1/realtime/sessions/{session_id}",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        s = response.json()
        return RealtimeSessionInfo(
            id=s["id"],
            status=RealtimeSessionStatus(s["status"]),
            language=s.get("language"),
            model=s.get("model"),
            engine_id=s.get("engine_id"),
            audio_duration_seconds=s.get("audio_duration_seconds", 0),
            segment_count=s.get("segment_count", 0),
            word_count=s.get("word_count", 0),
            store_audio=s.get("store_audio", False),
            store_transcript=s.get("store_transcript", False),
            started_at=_parse_datetime(s["started_at"]),
            ended_at=_parse_datetime(s.get("ended_at")),
            error=s.get("error"),
        )

    async def delete_realtime_session(self, session_id: str) -> bool:
        """Delete a realtime session.

        Only non-active sessions (completed, error, interrupted) can be deleted.

        Args:
            session_id: Session ID to delete.

        Returns:
            True if deleted successfully.

        Raises:
            NotFoundError: If session doesn't exist.
            ValidationError: If session is still active (status code 409).
        """
        try:
            response = await self._client.delete(
                f"{self.base_url}/v1/realtime/sessions/{session_id}",
                headers=self._headers(),
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        return True

    async def get_job_artifacts(
        self,
        job_id: str,
        include_purged: bool = False,
    ) -> ArtifactList:
        """List artifacts for a job.

        Args:
            job_id: Job ID.
            include_purged: Include already-purged artifacts.

        Returns:
            ArtifactList with all job artifacts.
        """
        params = {}
        if include_purged:
            params["include_purged"] = "true"

        try:
            response = await self._client.get(
                f"{self.base_url}/v2/jobs/{job_id}/artifacts",
                headers=self._headers(),
                params=params,
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        return _parse_artifact_list(response.json())

    async def get_session_artifacts(
        self,
        session_id: str,
        include_purged: bool = False,
    ) -> ArtifactList:
        """List artifacts for a realtime session.

        Args:
            session_id: Session ID.
            include_purged: Include already-purged artifacts.

        Returns:
            ArtifactList with all session artifacts.
        """
        params = {}
        if include_purged:
            params["include_purged"] = "true"

        try:
            response = await self._client.get(
                f"{self.base_url}/v2/realtime/sessions/{session_id}/artifacts",
                headers=self._headers(),
                params=params,
            )
        except httpx.ConnectError as e:
            raise ConnectError(f"Failed to connect: {e}") from e
        except httpx.TimeoutException as e:
            raise TimeoutException(f"Request timed out: {e}") from e

        if response.status_code != 200:
            _handle_error(response)

        return _parse_artifact_list(response.json())
