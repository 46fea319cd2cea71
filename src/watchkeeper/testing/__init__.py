"""Fakes of external systems (real HTTP/SMTP servers on loopback) and test helpers, shared
by the test suite, the demo and the benchmarks."""
