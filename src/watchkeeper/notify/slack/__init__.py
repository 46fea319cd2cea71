"""The ``slack`` channel: incoming webhooks, or a bot token with ``chat.postMessage`` then
``chat.update`` of the same message; Block Kit layout."""
