"""The strict model base every settings, contract and params model stands on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors (a misspelt key is never silently ignored); values are frozen once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Strict):
    """The params of a check that takes none."""


__all__ = ["NoParams", "Strict"]
