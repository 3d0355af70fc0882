"""Reading an attribute a pydantic model may not have, without pydantic's slow miss.

``getattr(model, "usage", None)`` on a model without ``usage`` goes through pydantic's
``__getattr__``, which builds and raises an ``AttributeError`` that ``getattr`` then
catches: three of those per ``models()`` call were about a tenth of maaskit's own work over a
bare httpx request (callgrind, #19). Whether a model class can have the attribute at all is
known from the class, so it is decided once per class and name.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["field_of"]

_CAN_HAVE: dict[tuple[type[BaseModel], str], bool] = {}


def _can_have(cls: type[BaseModel], name: str) -> bool:
    """A declared field, a class attribute (a property, say) or an allowed extra field."""
    if name in cls.model_fields or cls.model_config.get("extra") == "allow":
        return True
    return any(name in klass.__dict__ for klass in cls.__mro__)


def field_of(model: BaseModel, name: str, default: Any = None) -> Any:
    """``getattr(model, name, default)``, cheap when the model's class cannot have ``name``."""
    cls = type(model)
    key = (cls, name)
    can_have = _CAN_HAVE.get(key)
    if can_have is None:
        can_have = _CAN_HAVE[key] = _can_have(cls, name)
    return getattr(model, name, default) if can_have else default
