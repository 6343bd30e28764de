"""Settings model and example configuration."""
from config.settings import Settings, load_settings, ConfigError

__all__ = ["Settings", "load_settings", "ConfigError"]
