"""The ``telegram`` channel: Bot API ``sendMessage``."""
