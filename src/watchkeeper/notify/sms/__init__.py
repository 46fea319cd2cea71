"""The ``sms`` channel: Twilio Messages API."""
