"""AES-256-GCM secret box: round trips, tamper and context binding, key rings and where the
key may come from."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from watchkeeper.config.base import Secret
from watchkeeper.core.errors import ConfigError, StorageError
from watchkeeper.security.config import SecurityConfig
from watchkeeper.security.crypto import (
    KeyRing,
    SecretBox,
    fingerprint,
    format_keyring,
    generate_key,
    key_id_of,
    load_keyring,
    load_secret_box,
    parse_keyring,
    write_keyring_file,
)


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_encrypted_text_round_trips_and_hides_the_plaintext(box: SecretBox) -> None:
    sealed = box.encrypt_text("hunter2-webhook-url", "receivers.url")
    assert sealed.startswith(f"wk1:{box.primary_key_id}:")
    assert "hunter2" not in sealed
    assert box.encrypt_text("hunter2-webhook-url", "receivers.url") != sealed  # fresh nonce
    assert box.decrypt_text(sealed, "receivers.url") == "hunter2-webhook-url"


def test_ciphertext_moved_to_another_column_does_not_decrypt(box: SecretBox) -> None:
    sealed = box.encrypt_for("outbox", "payload", "{}")
    with pytest.raises(StorageError, match="moved from another column"):
        box.decrypt_for("history", "payload", sealed)
    assert box.decrypt_for("outbox", "payload", sealed).reveal() == "{}"


def test_decrypted_column_values_are_secrets_that_do_not_print(box: SecretBox) -> None:
    value = box.decrypt_for("t", "c", box.encrypt_for("t", "c", "p4ssw0rd"))
    assert isinstance(value, Secret)
    assert "p4ssw0rd" not in f"{value} {value!r}"


def test_tampered_ciphertext_is_refused(box: SecretBox) -> None:
    sealed = box.encrypt_text("value", "ctx")
    prefix, kid, body = sealed.split(":")
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(StorageError, match="does not decrypt"):
        box.decrypt_text(f"{prefix}:{kid}:{_b64(bytes(raw))}", "ctx")
    with pytest.raises(StorageError, match="not an encrypted value"):
        box.decrypt_text("plain text", "ctx")
    with pytest.raises(StorageError, match="truncated"):
        box.decrypt_text(f"wk1:{kid}:{_b64(b'short')}", "ctx")


def test_value_under_an_unknown_key_names_the_key(box: SecretBox) -> None:
    other = SecretBox(KeyRing.single(generate_key(), "old-2024"))
    sealed = other.encrypt_text("v", "ctx")
    with pytest.raises(StorageError, match=r"key 'old-2024', which is not loaded"):
        box.decrypt_text(sealed, "ctx")


def test_key_ring_decrypts_under_every_key_and_encrypts_under_the_first() -> None:
    old, new = generate_key(), generate_key()
    old_box = SecretBox(KeyRing.single(old, "old"))
    sealed_old = old_box.encrypt_text("v", "ctx")
    both = SecretBox(KeyRing.single(old, "old").with_new_primary(new, "new"))
    assert both.ring.ids == ("new", "old")
    assert both.decrypt_text(sealed_old, "ctx") == "v"
    assert key_id_of(both.encrypt_text("v", "ctx")) == "new"


def test_key_ring_text_round_trips_and_derives_ids_for_bare_keys() -> None:
    k1, k2 = generate_key(), generate_key()
    ring = parse_keyring(f"# current first\nprimary:{_b64(k1)}\n{_b64(k2)}\n", "test")
    assert ring.ids == ("primary", fingerprint(k2))
    assert parse_keyring(format_keyring(ring), "again") == ring
    assert parse_keyring(f"a:{_b64(k1)}, b:{_b64(k2)}", "env").ids == ("a", "b")
    assert _b64(k1) not in repr(ring)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no encryption key found"),
        ("not-base64!", "entry 1 is not a base64-encoded 32-byte key"),
        (_b64(b"too short"), "entry 1 is not a base64-encoded 32-byte key"),
        ("bad id!:" + _b64(b"k" * 32), "ids are 1-32 letters"),
        ("a:" + _b64(b"k" * 32) + ",a:" + _b64(b"j" * 32), "must be distinct"),
    ],
)
def test_bad_key_ring_text_is_a_config_error_naming_its_source(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_keyring(text, "$WATCHKEEPER_SECRET_KEY")
    assert str(caught.value).startswith("$WATCHKEEPER_SECRET_KEY: ")


def test_key_comes_from_the_environment_before_the_key_file(tmp_path: Path) -> None:
    env_key, file_key = generate_key(), generate_key()
    key_file = tmp_path / "keys" / "secret.key"
    write_keyring_file(key_file, KeyRing.single(file_key, "file"))
    cfg = SecurityConfig(key_file=str(key_file))
    from_env = load_keyring(
        cfg, env={"WATCHKEEPER_SECRET_KEY": _b64(env_key)}, base_dir=tmp_path, data_dir=None
    )
    from_file = load_keyring(cfg, env={}, base_dir=tmp_path, data_dir=None)
    assert from_env is not None
    assert from_env.get(from_env.primary) == env_key
    assert from_file is not None
    assert from_file.ids == ("file",)
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_key_file_path_is_relative_to_the_config_directory(tmp_path: Path) -> None:
    write_keyring_file(tmp_path / "etc" / "wk.key", KeyRing.single(generate_key(), "rel"))
    ring = load_keyring(
        SecurityConfig(key_file="etc/wk.key"), env={}, base_dir=tmp_path, data_dir=None
    )
    assert ring is not None
    assert ring.ids == ("rel",)


def test_key_file_inside_the_data_directory_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_keyring_file(data / "sub" / "secret.key", KeyRing.single(generate_key()))
    cfg = SecurityConfig(key_file="data/sub/secret.key")
    with pytest.raises(ConfigError, match="is inside the data directory") as caught:
        load_keyring(cfg, env={}, base_dir=tmp_path, data_dir=data)
    assert "move the key outside it" in str(caught.value)


def test_missing_key_says_how_to_provide_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no encryption key: set \$WATCHKEEPER_SECRET_KEY"):
        load_secret_box(SecurityConfig(), env={}, base_dir=tmp_path, data_dir=None)
    with pytest.raises(ConfigError, match=r"cannot read .*generate-key --file"):
        load_secret_box(
            SecurityConfig(key_file="absent.key"), env={}, base_dir=tmp_path, data_dir=None
        )


def test_box_rereads_the_key_file_for_a_key_it_does_not_know(tmp_path: Path) -> None:
    """An instance started before a rotation picks up the new key from the key file."""
    key_file = tmp_path / "secret.key"
    write_keyring_file(key_file, KeyRing.single(generate_key(), "one"))
    cfg = SecurityConfig(key_file=str(key_file))
    running = load_secret_box(cfg, env={}, base_dir=tmp_path, data_dir=None)
    new_ring = KeyRing.single(generate_key(), "two")
    write_keyring_file(key_file, new_ring)
    sealed = SecretBox(new_ring).encrypt_text("v", "ctx")
    assert running.decrypt_text(sealed, "ctx") == "v"
    assert running.primary_key_id == "two"


def test_security_config_refuses_a_writing_anonymous_role() -> None:
    with pytest.raises(ValueError, match="only viewer is allowed"):
        SecurityConfig.model_validate({"anonymous_role": "operator"})
    assert SecurityConfig.model_validate({"anonymous_role": "viewer"}).anonymous_role == "viewer"
