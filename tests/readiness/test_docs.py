"""The configuration example in docs/readiness.md is a valid readiness section."""

from __future__ import annotations

from pathlib import Path

from watchkeeper.config.yamlsource import load_yaml
from watchkeeper.readiness.config import ReadinessConfig
from watchkeeper.readiness.registry import check_ids

DOC = Path(__file__).resolve().parents[2] / "docs" / "readiness.md"


def test_the_documented_configuration_validates() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("## Configuration", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    env = {
        "READINESS_TOKEN": "wk_token",
        "DRILL_DSN": "postgresql://drill@db/app",
        "APP_DSN": "postgresql://app@db/app",
    }
    data, _ = load_yaml(block, "readiness.md", env)
    config = ReadinessConfig.model_validate(data["readiness"])
    assert config.schedule.enabled
    assert [c.name for c in config.custom] == ["quote-api", "no-stuck-jobs"]


def test_every_check_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [i for i in check_ids() if f"`{i}`" not in text]
    assert missing == []
