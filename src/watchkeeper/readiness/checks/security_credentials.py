"""``security.default_credentials``: no Watchkeeper account accepts a default password
(``readiness.security.default_credentials``, tried through the real user store and its
password hashing), and anonymous visitors get no role unless meant to."""

from __future__ import annotations

import asyncio

from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import UserInputError
from watchkeeper.readiness.check import Check, CheckContext, failed, passed, skipped, warned
from watchkeeper.readiness.model import Category, Verdict
from watchkeeper.readiness.statedb import StateUnavailable, state_database
from watchkeeper.security.passwords import check_password
from watchkeeper.security.setup import build_security, security_config
from watchkeeper.state.db import Database


class NoDefaultCredentials(Check):
    id = "security.default_credentials"
    category = Category.SECURITY
    title = "No default credentials in Watchkeeper"

    async def run(self, ctx: CheckContext) -> Verdict:
        pairs = [p.partition(":") for p in ctx.settings.security.default_credentials]
        try:
            with state_database(ctx.loaded) as db:
                users, accepted = await asyncio.to_thread(_try, db, ctx, pairs, ctx.clock)
        except StateUnavailable as exc:
            return skipped(str(exc))
        if accepted:
            return failed(
                f"these accounts log in with a well-known password: {', '.join(accepted)}",
                "change their passwords now: `watchkeeper user set-password NAME`",
                data={"users": users},
            )
        anonymous = security_config(ctx.config).anonymous_role
        tried = sum(1 for user, _, pw in pairs if user in users and _settable(user, pw))
        evidence = f"{len(users)} accounts; {tried} default passwords tried, none accepted"
        if anonymous is not None:
            return warned(
                f"{evidence}; but visitors who are not logged in get the role "
                f"{anonymous.value} (security.anonymous_role)",
                "remove security.anonymous_role unless the dashboard is meant to be public",
                data={"users": users},
            )
        return passed(evidence, data={"users": users})


def _try(
    db: Database, ctx: CheckContext, pairs: list[tuple[str, str, str]], clock: Clock
) -> tuple[list[str], list[str]]:
    services = build_security(security_config(ctx.config), clock=clock)
    accepted = []
    with db.begin() as conn:
        users = [u.username for u in services.users.list(conn)]
        for user, _, password in pairs:
            if not (user in users and _settable(user, password)):
                continue
            if services.users.authenticate(conn, user, password) is not None:
                accepted.append(user)
    return users, sorted(set(accepted))


def _settable(user: str, password: str) -> bool:
    """Whether the user store would accept this password at all; one it refuses (too
    short, the user name) cannot be an account's password, so it is not worth a slow
    password-hash check."""
    try:
        check_password(password, user)
    except UserInputError:
        return False
    return True
