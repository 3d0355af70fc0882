"""Server settings: one frozen object built by the CLI (or tests) and handed to the app factory.

Settings travel to uvicorn worker processes as JSON in an environment variable; API keys are
only ever held as SHA-256 digests, so nothing secret is serialised.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MODELS_DIR = Path(__file__).parent / "models"
SETTINGS_ENV = "MAASKIT_SERVER_SETTINGS"
# Test-only: delays the background model loading so a test can observe /ready answering 503.
LOAD_DELAY_ENV = "MAASKIT_TEST_LOAD_DELAY_S"


@dataclass(frozen=True)
class ServerSettings:
    models_dir: Path = DEFAULT_MODELS_DIR
    api_key_hashes: tuple[bytes, ...] = ()
    # Keys limited to some models: (SHA-256 digest, model names).
    scoped_api_keys: tuple[tuple[bytes, tuple[str, ...]], ...] = ()
    # A keys file (see keys.py), re-read when it changes; None: no keys file.
    keys_file: Path | None = None
    keys_poll_s: float = 1.0
    # SQLite file all worker processes share for rate limits and idempotency (see
    # shared_state.py); None: per-process memory (one worker).
    shared_state_path: Path | None = None
    max_body_bytes: int = 2 * 1024 * 1024
    # Seconds a request body may take to arrive in full (then 408).
    body_timeout_s: float = 30.0
    # One JSON line per request on the "maaskit_server.access" logger.
    access_log_json: bool = False
    max_inputs_per_request: int = 2048
    # Requests per minute per API key (per client address without keys); 0 = no limit.
    rate_limit_rpm: int = 0
    # Inputs waiting per model before new requests are answered 429.
    max_queue_size: int = 4096
    # onnxruntime intra-op threads per session; 0 lets onnxruntime pick (one per core).
    intra_op_threads: int = 0
    # Encoder batches that may run at once on a busy model, each on its share of the cores
    # (see batching.py); 0 picks 2 when the process has two or more cores, else 1.
    encoder_lanes: int = 0
    executor_workers: int = 4
    load_delay_s: float = 0.0
    # Fault injection for client tests: never on unless asked for (--enable-faults).
    faults_enabled: bool = False
    # SHA-256 hex digest of the key the fault admin route requires ("" = admin route closed).
    fault_admin_key_sha256: str = ""
    idempotency_ttl_s: float = 600.0
    idempotency_max_entries: int = 10_000
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["models_dir"] = str(self.models_dir)
        for name in ("keys_file", "shared_state_path"):
            value = getattr(self, name)
            data[name] = None if value is None else str(value)
        data["api_key_hashes"] = [digest.hex() for digest in self.api_key_hashes]
        data["scoped_api_keys"] = [
            [digest.hex(), list(models)] for digest, models in self.scoped_api_keys
        ]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ServerSettings:
        data = json.loads(text)
        data["models_dir"] = Path(data["models_dir"])
        for name in ("keys_file", "shared_state_path"):
            data[name] = None if data[name] is None else Path(data[name])
        data["api_key_hashes"] = tuple(bytes.fromhex(h) for h in data["api_key_hashes"])
        data["scoped_api_keys"] = tuple(
            (bytes.fromhex(digest), tuple(models)) for digest, models in data["scoped_api_keys"]
        )
        return cls(**data)


def load_delay_from_env() -> float:
    raw = os.environ.get(LOAD_DELAY_ENV, "")
    try:
        return max(0.0, float(raw)) if raw else 0.0
    except ValueError:
        return 0.0
