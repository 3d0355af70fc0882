"""``field_of`` answers as ``getattr(model, name, default)`` does, whatever the model."""

from __future__ import annotations

from maaskit._model_fields import field_of
from pydantic import BaseModel, ConfigDict


class Plain(BaseModel):
    model: str = "m"


class WithProperty(Plain):
    @property
    def usage(self) -> str:
        return "from a property"


class WithExtras(BaseModel):
    model_config = ConfigDict(extra="allow")


def test_a_declared_field_is_read() -> None:
    assert field_of(Plain(model="x"), "model") == "x"


def test_a_missing_attribute_gives_the_default() -> None:
    assert field_of(Plain(), "usage") is None
    assert field_of(Plain(), "params", {}) == {}


def test_a_property_of_a_subclass_is_read() -> None:
    assert field_of(Plain(), "usage") is None  # cached for Plain, not for its subclass
    assert field_of(WithProperty(), "usage") == "from a property"


def test_an_allowed_extra_field_is_read_and_its_absence_gives_the_default() -> None:
    assert field_of(WithExtras.model_validate({"usage": 3}), "usage") == 3
    assert field_of(WithExtras(), "usage", "none") == "none"
