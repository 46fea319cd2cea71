"""Alertmanager's ``global:`` section, accepted unchanged so a real ``alertmanager.yml``
loads. ``resolve_timeout`` is used by alert management; the channel defaults (SMTP,
Slack, PagerDuty, ...) are kept for the notification channels to read."""

from __future__ import annotations

from pydantic import Field

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.notify.httpconfig import HTTPClientConfig, TLSClientConfig


class AlertmanagerGlobalConfig(StrictModel):
    resolve_timeout: Duration | None = Field(
        None, description="an alert not re-sent within this long is resolved (default 5m)"
    )
    http_config: HTTPClientConfig | None = Field(
        None, description="default HTTP client settings of the channels"
    )
    smtp_from: str | None = None
    smtp_hello: str | None = None
    smtp_smarthost: str | None = None
    smtp_auth_username: str | None = None
    smtp_auth_password: Secret | None = None
    smtp_auth_secret: Secret | None = None
    smtp_auth_identity: str | None = None
    smtp_require_tls: bool | None = None
    smtp_tls_config: TLSClientConfig | None = None
    slack_api_url: Secret | None = None
    pagerduty_url: str | None = None
    opsgenie_api_url: str | None = None
    opsgenie_api_key: Secret | None = None
    wechat_api_url: str | None = None
    wechat_api_secret: Secret | None = None
    wechat_api_corp_id: str | None = None
    victorops_api_url: str | None = None
    victorops_api_key: Secret | None = None
    telegram_api_url: str | None = None
    webex_api_url: str | None = None
    jira_api_url: str | None = None
    rocketchat_api_url: str | None = None
    rocketchat_token: Secret | None = None
    rocketchat_token_id: Secret | None = None
