"""The ``msteams`` / ``msteamsv2`` channels: Teams workflow or incoming webhooks with an
Adaptive Card."""
