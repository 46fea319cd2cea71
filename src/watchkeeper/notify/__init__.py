"""Notification channels behind the :class:`~watchkeeper.notify.base.Notifier` protocol, the
durable outbox and the delivery log."""
