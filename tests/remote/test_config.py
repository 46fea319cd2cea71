"""The ``storage`` fields of push ingestion and remote storage: defaults, sizes, secrets,
and the exact messages of mistakes (file, line, field, how to fix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.config.loader import load_config_text
from watchkeeper.core.errors import ConfigError
from watchkeeper.remote.config import parse_size


def test_defaults_need_nothing_and_send_nowhere() -> None:
    storage = load_config_text("{}").config.storage
    assert storage.remote_write == []
    assert storage.query_url is None
    assert storage.push.max_body_bytes == 16 * 1024**2
    assert storage.push.max_decoded_bytes == 64 * 1024**2


def test_a_full_remote_section_loads_with_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "vm-token").write_text("tok-123\n")
    text = """
storage:
  push: {max_body_bytes: 4MiB, max_decoded_bytes: 32MiB}
  remote_write:
    - url: http://victoria:8428/api/v1/write
      name: victoria
      bearer_token_file: vm-token
      queue: {max_samples_per_send: 5000, max_disk_bytes: 1GiB, batch_send_deadline: 2s}
    - url: https://mimir.example/api/v1/push
      basic_auth: {username: tenant, password: hunter2}
      headers: {X-Scope-OrgID: team-a}
  query_url: http://victoria:8428/
  query: {timeout: 10s, bearer_token: q-secret}
"""
    storage = load_config_text(text, base_dir=tmp_path).config.storage
    vm, mimir = storage.remote_write
    assert vm.auth_headers() == {"Authorization": "Bearer tok-123"}
    assert vm.queue.max_disk_bytes == 1024**3
    assert float(vm.queue.batch_send_deadline) == 2.0
    assert mimir.auth_headers()["Authorization"] == "Basic dGVuYW50Omh1bnRlcjI="
    assert mimir.auth_headers()["X-Scope-OrgID"] == "team-a"
    assert mimir.queue_name.startswith("mimir.example-")
    assert storage.query_url == "http://victoria:8428"
    dumped = str(storage.model_dump())
    for secret in ("tok-123", "hunter2", "q-secret"):
        assert secret not in dumped
    assert storage.push.max_body_bytes == 4 * 1024**2


def test_the_derived_queue_name_is_stable_for_a_url() -> None:
    text = "storage: {remote_write: [{url: 'http://vm:8428/api/v1/write'}]}"
    first = load_config_text(text).config.storage.remote_write[0].queue_name
    again = load_config_text(text).config.storage.remote_write[0].queue_name
    assert first == again
    assert first.startswith("vm-")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "storage:\n  remote_write:\n    - url: http://u:p@vm:8428/api/v1/write\n",
            "watchkeeper.yaml:3: storage.remote_write[0].url: url must not carry credentials; "
            "use basic_auth or bearer_token (with password_file / bearer_token_file) instead",
        ),
        (
            "storage:\n  remote_write:\n    - {url: 'http://a/w', name: x}\n"
            "    - {url: 'http://b/w', name: x}\n",
            "watchkeeper.yaml:2: storage.remote_write: remote_write names must be unique, 'x' "
            "is used twice; give each entry its own name",
        ),
        (
            "storage:\n  query_url: vm:8428\n",
            "watchkeeper.yaml:2: storage.query_url: query_url must be an http:// or https:// "
            "URL, got 'vm:8428'",
        ),
        (
            "storage:\n  push: {max_body_bytes: 12 parsecs}\n",
            "watchkeeper.yaml:2: storage.push.max_body_bytes: invalid size '12 parsecs': use a "
            "number of bytes or a unit, e.g. 16MiB, 512KiB, 1GB",
        ),
        (
            "storage:\n  remote_write:\n    - url: http://a/w\n      bearer_token: t\n"
            "      basic_auth: {username: u, password: p}\n",
            "watchkeeper.yaml:3: storage.remote_write[0]: give basic_auth or bearer_token, "
            "not both",
        ),
        (
            "storage:\n  remote_write:\n    - url: http://a/w\n"
            "      headers: {Authorization: Bearer x}\n",
            "watchkeeper.yaml:3: storage.remote_write[0]: put credentials in basic_auth or "
            "bearer_token (they are kept secret), not in headers",
        ),
        (
            "storage:\n  remote_write:\n    - url: http://a/w\n"
            "      queue: {min_backoff: 10s, max_backoff: 1s}\n",
            "watchkeeper.yaml:4: storage.remote_write[0].queue: need 0 < min_backoff <= "
            "max_backoff, e.g. 30ms and 5s",
        ),
    ],
    ids=["credentials-in-url", "duplicate-name", "bad-query-url", "bad-size", "two-auths",
         "auth-header", "backoff"],
)  # fmt: skip
def test_mistakes_name_the_line_the_field_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "size"),
    [("512", 512), ("64KiB", 65536), ("16MiB", 16 * 1024**2), ("1GB", 10**9), ("1.5KB", 1500)],
)
def test_sizes_read_units(text: str, size: int) -> None:
    assert parse_size(text) == size
