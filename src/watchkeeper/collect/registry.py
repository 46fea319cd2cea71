"""The explicit table of collector kinds. Adding a kind = one package + one line here."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from watchkeeper.collect.http.config import HttpCheckConfig
from watchkeeper.collect.scrape.config import ScrapeConfig

CHECK_CONFIGS = (HttpCheckConfig, ScrapeConfig)

CheckConfig = Annotated[HttpCheckConfig | ScrapeConfig, Field(discriminator="type")]
