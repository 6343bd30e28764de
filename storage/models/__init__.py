"""All tables. Each capability keeps its models in its own module; import them here so
that Alembic and `Base.metadata` see every table."""
from storage.models.base import Base
from storage.models import core  # noqa: F401
from storage.models import _capabilities  # noqa: F401

__all__ = ["Base"]
