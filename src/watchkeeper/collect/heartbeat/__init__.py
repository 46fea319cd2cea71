"""``type: heartbeat``: push checks. Cron jobs ping a URL; missing pings mark the check down."""
