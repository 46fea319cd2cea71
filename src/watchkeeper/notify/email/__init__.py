"""The ``email`` channel: SMTP with STARTTLS or implicit TLS and auth, HTML and plain-text
parts, threading headers."""
