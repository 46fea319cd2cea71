"""The cluster section: defaults, and the exact messages of what it refuses."""

from __future__ import annotations

import pytest

from watchkeeper.cluster.config import ClusterConfig, default_instance_id
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.errors import ConfigError

PG = "state: {backend: postgres, dsn: 'postgresql://wk@127.0.0.1:5432/wk'}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_config_text(text)
    return err.value.problems


def test_cluster_mode_works_with_no_cluster_section_at_all() -> None:
    cfg = load_config_text(PG).config
    assert cfg.cluster == ClusterConfig()
    assert float(cfg.cluster.heartbeat_interval) == 1.0
    assert float(cfg.cluster.member_timeout) == 6.0
    assert float(cfg.cluster.session_timeout) == 10.0
    assert cfg.cluster.replicate_samples is True


def test_a_cluster_section_without_postgres_is_refused() -> None:
    assert problems("cluster: {heartbeat_interval: 2s}\n") == [
        "watchkeeper.yaml:1: cluster: several instances share their state in PostgreSQL; set "
        "state.backend: postgres with a dsn, or remove the cluster section"
    ]


def test_a_member_timeout_close_to_the_heartbeat_is_refused() -> None:
    assert problems(PG + "cluster: {heartbeat_interval: 1s, member_timeout: 3s}\n") == [
        "watchkeeper.yaml:2: cluster: member_timeout (3s) must be at least 4 x "
        "heartbeat_interval (4s), or a slow heartbeat would look like a dead instance"
    ]


def test_a_session_timeout_shorter_than_three_heartbeats_is_refused() -> None:
    assert problems(
        PG + "cluster: {heartbeat_interval: 2s, member_timeout: 8s, session_timeout: 5s}\n"
    ) == [
        "watchkeeper.yaml:2: cluster: session_timeout (5s) must be at least 3 x "
        "heartbeat_interval (6s): the leader's session is idle between checks"
    ]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("10.0.0.5:9100", "must be an http:// or https:// URL"),
        ("http://user:pw@10.0.0.5:9100", "must not carry credentials"),
        ("http://10.0.0.5:9100/wk", "without a path"),
    ],
)
def test_an_advertise_url_others_cannot_use_is_refused(url: str, why: str) -> None:
    [problem] = problems(PG + f"cluster: {{advertise_url: '{url}'}}\n")
    assert problem.startswith("watchkeeper.yaml:2: cluster.advertise_url: ")
    assert why in problem


def test_timeouts_not_given_follow_a_given_heartbeat() -> None:
    cfg = load_config_text(PG + "cluster: {heartbeat_interval: 2s}\n").config.cluster
    assert (float(cfg.member_timeout), float(cfg.session_timeout)) == (12.0, 20.0)
    cfg = load_config_text(PG + "cluster: {heartbeat_interval: 500ms, member_timeout: 4s}\n")
    assert float(cfg.config.cluster.member_timeout) == 4.0
    assert float(cfg.config.cluster.session_timeout) == 5.0


def test_an_instance_id_with_spaces_is_refused_and_generated_ids_differ() -> None:
    [problem] = problems(PG + "cluster: {instance_id: 'web 1'}\n")
    assert "instance_id 'web 1' must be 1-100 letters" in problem
    assert default_instance_id() != default_instance_id()
    ClusterConfig(instance_id=default_instance_id())  # a generated id is valid
