"""Alertmanager's ``global`` notification defaults applied to receivers.

An Alertmanager file often keeps the SMTP server, the Slack URL or the Opsgenie key in
``global`` (``smtp_smarthost``, ``slack_api_url``, ``opsgenie_api_key``, …) and leaves them
out of each receiver. :func:`apply_globals` fills every channel config field that the
receiver did not set from those keys, so such a file sends without edits. Keys that are
not about notifications (``resolve_timeout``) or channels Watchkeeper lacks are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from watchkeeper.config.base import StrictModel
from watchkeeper.notify.config import CHANNEL_FIELDS, ReceiverConfig

# channel -> {config field: global key}
GLOBAL_KEYS: dict[str, dict[str, str]] = {
    "email": {
        "from_": "smtp_from",
        "smarthost": "smtp_smarthost",
        "hello": "smtp_hello",
        "auth_username": "smtp_auth_username",
        "auth_password": "smtp_auth_password",
        "auth_identity": "smtp_auth_identity",
        "auth_secret": "smtp_auth_secret",
        "require_tls": "smtp_require_tls",
        "force_implicit_tls": "smtp_force_implicit_tls",
        "tls_config": "smtp_tls_config",
    },
    "slack": {
        "api_url": "slack_api_url",
        "app_token": "slack_app_token",
        "app_url": "slack_app_url",
    },
    "pagerduty": {"url": "pagerduty_url"},
    "opsgenie": {"api_key": "opsgenie_api_key", "api_url": "opsgenie_api_url"},
    "telegram": {"api_url": "telegram_api_url", "bot_token": "telegram_bot_token"},
}
_SECRET_FILES = {
    "smtp_auth_password_file": "smtp_auth_password",
    "slack_api_url_file": "slack_api_url",
    "slack_app_token_file": "slack_app_token",
    "opsgenie_api_key_file": "opsgenie_api_key",
    "telegram_bot_token_file": "telegram_bot_token",
}


def _read_files(globals_: Mapping[str, Any]) -> dict[str, Any]:
    from pathlib import Path

    out = dict(globals_)
    for file_key, key in _SECRET_FILES.items():
        if file_key in out and key not in out:
            out[key] = Path(str(out.pop(file_key))).read_text(encoding="utf-8").strip()
    return out


def apply_globals(
    receivers: Sequence[ReceiverConfig], globals_: Mapping[str, Any]
) -> list[ReceiverConfig]:
    """Receivers whose channel configs take unset fields from Alertmanager's ``global``
    (and ``http_config`` from ``global.http_config``). Raises ``ValueError`` for a value
    the channel model rejects, naming the global key."""
    if not globals_:
        return list(receivers)
    values = _read_files(globals_)
    out: list[ReceiverConfig] = []
    for receiver in receivers:
        updates: dict[str, Any] = {}
        for channel, field_name in CHANNEL_FIELDS.items():
            configs: list[StrictModel] = getattr(receiver, field_name)
            if not configs:
                continue
            updates[field_name] = [_fill(channel, c, values) for c in configs]
        out.append(receiver.model_copy(update=updates) if updates else receiver)
    return out


def _fill(channel: str, config: StrictModel, values: Mapping[str, Any]) -> StrictModel:
    mapping = dict(GLOBAL_KEYS.get(channel, {}))
    if "http_config" in type(config).model_fields:
        mapping["http_config"] = "http_config"
    # the values the receiver set, as they are (Secrets and nested models stay intact)
    data: dict[str, Any] = {name: getattr(config, name) for name in config.model_fields_set}
    changed = False
    for field_name, key in mapping.items():
        if field_name in config.model_fields_set or key not in values:
            continue
        data[field_name] = values[key]
        changed = True
    if not changed:
        return config
    try:
        return type(config).model_validate(data)
    except ValueError as exc:
        keys = ", ".join(mapping[f] for f in mapping if f not in config.model_fields_set)
        raise ValueError(f"global {keys}: {exc}") from None


def receivers_with_global(
    receivers: Sequence[ReceiverConfig], global_model: StrictModel | None
) -> list[ReceiverConfig]:
    """:func:`apply_globals` with the validated ``alerting.global`` section (its secret
    files are already read; its values are passed as they are, secrets unrevealed)."""
    if global_model is None:
        return list(receivers)
    values = {
        name: value
        for name in type(global_model).model_fields
        if (value := getattr(global_model, name)) is not None
    }
    return apply_globals(receivers, values)
