"""The explicit table of channels: name -> config model and notifier. Adding a channel is
one package, one line here (and its ``*_configs`` field on ``ReceiverConfig``) and its tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from watchkeeper.config.base import StrictModel
from watchkeeper.core.errors import ConfigError
from watchkeeper.notify.apprise.config import AppriseConfig
from watchkeeper.notify.apprise.notifier import AppriseNotifier
from watchkeeper.notify.base import Notifier
from watchkeeper.notify.channel import NotifierContext
from watchkeeper.notify.config import CHANNEL_FIELDS, ReceiverConfig
from watchkeeper.notify.discord.config import DiscordConfig
from watchkeeper.notify.discord.notifier import DiscordNotifier
from watchkeeper.notify.email.config import EmailConfig
from watchkeeper.notify.email.notifier import EmailNotifier
from watchkeeper.notify.msteams.config import MSTeamsConfig, MSTeamsV2Config
from watchkeeper.notify.msteams.notifier import MSTeamsNotifier, MSTeamsV2Notifier
from watchkeeper.notify.opsgenie.config import OpsGenieConfig
from watchkeeper.notify.opsgenie.notifier import OpsGenieNotifier
from watchkeeper.notify.pagerduty.config import PagerdutyConfig
from watchkeeper.notify.pagerduty.notifier import PagerDutyNotifier
from watchkeeper.notify.slack.config import SlackConfig
from watchkeeper.notify.slack.notifier import SlackNotifier
from watchkeeper.notify.sms.config import SMSConfig
from watchkeeper.notify.sms.notifier import SMSNotifier
from watchkeeper.notify.telegram.config import TelegramConfig
from watchkeeper.notify.telegram.notifier import TelegramNotifier
from watchkeeper.notify.webhook.config import WebhookConfig
from watchkeeper.notify.webhook.notifier import WebhookNotifier

Factory = Callable[[Any, NotifierContext, str], Notifier]


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    name: str
    field: str  # the receiver's list of configs, e.g. "slack_configs"
    config: type[StrictModel]
    build: Factory


def _spec(name: str, config: type[StrictModel], cls: Any) -> ChannelSpec:
    def build(cfg: Any, ctx: NotifierContext, where: str) -> Notifier:
        notifier: Notifier = cls(cfg, ctx, where=where)
        return notifier

    return ChannelSpec(name, CHANNEL_FIELDS[name], config, build)


CHANNELS: dict[str, ChannelSpec] = {
    spec.name: spec
    for spec in (
        _spec("webhook", WebhookConfig, WebhookNotifier),
        _spec("slack", SlackConfig, SlackNotifier),
        _spec("email", EmailConfig, EmailNotifier),
        _spec("pagerduty", PagerdutyConfig, PagerDutyNotifier),
        _spec("opsgenie", OpsGenieConfig, OpsGenieNotifier),
        _spec("telegram", TelegramConfig, TelegramNotifier),
        _spec("msteams", MSTeamsConfig, MSTeamsNotifier),
        _spec("msteamsv2", MSTeamsV2Config, MSTeamsV2Notifier),
        _spec("discord", DiscordConfig, DiscordNotifier),
        _spec("sms", SMSConfig, SMSNotifier),
        _spec("apprise", AppriseConfig, AppriseNotifier),
    )
}


class NotifierSet:
    """The notifiers built from one config: (receiver, channel, index) -> notifier."""

    def __init__(self, notifiers: dict[tuple[str, str, int], Notifier], ctx: NotifierContext):
        self._notifiers = notifiers
        self.ctx = ctx

    def get(self, receiver: str, channel: str, index: int) -> Notifier | None:
        return self._notifiers.get((receiver, channel, index))

    def of_receiver(self, receiver: str) -> list[tuple[str, int, Notifier]]:
        return sorted(
            ((c, i, n) for (r, c, i), n in self._notifiers.items() if r == receiver),
            key=lambda t: (t[0], t[1]),
        )

    def __iter__(self) -> Iterator[tuple[tuple[str, str, int], Notifier]]:
        return iter(sorted(self._notifiers.items(), key=lambda kv: kv[0]))

    def __len__(self) -> int:
        return len(self._notifiers)

    async def aclose(self) -> None:
        await self.ctx.clients.aclose()


def build_notifiers(
    receivers: Iterable[ReceiverConfig],
    ctx: NotifierContext,
    *,
    prefix: str = "alerting.receivers",
) -> NotifierSet:
    """Build every integration's notifier. Raises :class:`ConfigError` listing each
    integration that cannot be built (bad template, missing field), with its location."""
    built: dict[tuple[str, str, int], Notifier] = {}
    problems: list[str] = []
    for r_index, receiver in enumerate(receivers):
        for channel, index, cfg in receiver.integrations():
            spec = CHANNELS.get(channel)
            where = f"{prefix}[{r_index}].{CHANNEL_FIELDS[channel]}[{index}]"
            if spec is None:
                problems.append(f"{where}: channel {channel!r} is not available")
                continue
            try:
                built[(receiver.name, channel, index)] = spec.build(cfg, ctx, where)
            except ConfigError as exc:
                problems.extend(exc.problems)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
    if problems:
        raise ConfigError(problems)
    return NotifierSet(built, ctx)


def receiver_problems(receivers: Iterable[ReceiverConfig]) -> list[str]:
    """Problems :func:`build_notifiers` would raise, for ``check-config`` (no network)."""
    ctx = NotifierContext()
    try:
        build_notifiers(receivers, ctx)
    except ConfigError as exc:
        return exc.problems
    return []


def warnings(notifiers: NotifierSet) -> list[str]:
    out: list[str] = []
    for _key, notifier in notifiers:
        out.extend(getattr(notifier, "warnings", []))
    return out


def config_models() -> dict[str, type[StrictModel]]:
    return {name: spec.config for name, spec in CHANNELS.items()}
