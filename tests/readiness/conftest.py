"""Fixtures of the readiness tests: the platform fakes served on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from watchkeeper.testing.github import FakeGithub
from watchkeeper.testing.render import FakeRender
from watchkeeper.testing.server import FakeServer
from watchkeeper.testing.supabase import FakeSupabase
from watchkeeper.testing.vercel import FakeVercel


@pytest.fixture
def vercel() -> Iterator[tuple[FakeVercel, FakeServer]]:
    fake = FakeVercel()
    with fake.serve() as server:
        yield fake, server


@pytest.fixture
def render() -> Iterator[tuple[FakeRender, FakeServer]]:
    fake = FakeRender()
    with fake.serve() as server:
        yield fake, server


@pytest.fixture
def supabase() -> Iterator[tuple[FakeSupabase, FakeServer]]:
    fake = FakeSupabase()
    with fake.serve() as server:
        yield fake, server


@pytest.fixture
def github() -> Iterator[tuple[FakeGithub, FakeServer]]:
    fake = FakeGithub()
    with fake.serve() as server:
        yield fake, server
