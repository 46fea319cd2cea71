"""The ``discord`` channel: webhook with embeds."""
