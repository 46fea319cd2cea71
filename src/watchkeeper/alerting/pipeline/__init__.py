"""The notification path as pipeline stages (Alertmanager's ``notify`` pipeline): each
stage is one small async class in its own module, passing a frozen
:class:`~watchkeeper.alerting.pipeline.stage.NotifyContext` on.

A group flush runs::

    inhibit -> time active -> time mute -> silence -> maintenance -> dependency -> flapping
      -> mute history -> acknowledgement
      -> for each receiver (fan-out, every failure collected): dedup -> enqueue -> set notifies
      -> escalation bookkeeping
"""
