"""``security.secrets_encrypted``: an encryption key is configured for secrets at rest,
and every secret stored in the state database decrypts with it."""

from __future__ import annotations

import asyncio
import os

from watchkeeper.core.errors import ConfigError, StorageError
from watchkeeper.readiness.check import Check, CheckContext, failed, passed
from watchkeeper.readiness.model import Category, Verdict
from watchkeeper.readiness.statedb import StateUnavailable, state_database
from watchkeeper.security.crypto import SecretBox
from watchkeeper.security.setup import build_security, secret_box, security_config
from watchkeeper.state.db import Database


class SecretsEncrypted(Check):
    id = "security.secrets_encrypted"
    category = Category.SECURITY
    title = "Secrets are encrypted at rest"

    async def run(self, ctx: CheckContext) -> Verdict:
        env = ctx.env if ctx.env is not None else os.environ
        try:
            box = secret_box(ctx.loaded, env)
        except ConfigError as exc:
            return failed(
                "; ".join(exc.problems),
                "generate a key with `watchkeeper secrets generate-key --file PATH` (outside "
                "the data directory) and set security.key_file, or put it in the variable "
                f"${security_config(ctx.config).key_env}",
            )
        ring = box.ring
        evidence = f"key ring with {len(ring.ids)} key(s), current key id {ring.primary}"
        try:
            with state_database(ctx.loaded) as db:
                names, broken = await asyncio.to_thread(_decrypt_all, db, box, ctx)
        except StateUnavailable as exc:
            return passed(f"{evidence}; {exc}")
        if broken:
            return failed(
                f"{evidence}; {len(broken)} stored secret(s) do not decrypt with it: "
                f"{', '.join(broken)}",
                "add the key they were written with to the key ring (as a second entry), "
                "then rotate with `watchkeeper secrets rotate-key`",
            )
        return passed(f"{evidence}; {len(names)} stored secrets decrypt with it")


def _decrypt_all(db: Database, box: SecretBox, ctx: CheckContext) -> tuple[list[str], list[str]]:
    services = build_security(security_config(ctx.config), clock=ctx.clock, box=box)
    store = services.secrets
    if store is None:  # pragma: no cover - a box was given
        return [], []
    broken = []
    with db.connect() as conn:
        names = [info.name for info in store.list(conn)]
        for name in names:
            try:
                store.get(conn, name)
            except (StorageError, ValueError):
                broken.append(name)
    return names, broken
