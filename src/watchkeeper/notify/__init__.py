"""Notification channels behind the :class:`~watchkeeper.notify.base.Notifier` protocol, the
durable outbox and the delivery log.

    alerting ──enqueue──▶ SqlOutbox (rows per channel integration, deduplicated)
                              │ claimed by compare-and-set, leased
                              ▼
                         OutboxWorker ──send──▶ Notifier (one per *_configs entry)
                              │                    │ DeliveryReceipt / DeliveryError
                              ▼                    ▼
                  delivery log, channel health, per-group channel state, metrics

Modules: ``base`` (the contract), ``config`` (receivers), ``settings`` (retry, limits),
``outbox``, ``worker``, ``log`` (delivery log, health, channel state), ``pacing`` (backoff,
token buckets), ``http`` (failure classification, clients), ``templating`` (Jinja2 over
Alertmanager's template data), ``registry`` (the channel table), ``service`` (what the
runtime builds), ``api`` (routes), ``testmsg``; one package per channel.

Adding a channel: a package with ``config.py`` (its ``*_configs`` model) and
``notifier.py`` (a :class:`~watchkeeper.notify.channel.BaseNotifier`), a field on
``ReceiverConfig`` and ``CHANNEL_FIELDS``, a line in ``registry.CHANNELS``, a fake in
``watchkeeper.testing`` and a harness in ``tests/notify/harness.py`` (the contract suite
then covers it).
"""
