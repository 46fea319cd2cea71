"""The ``opsgenie`` channel: Alert API create, acknowledge and close by alias."""
