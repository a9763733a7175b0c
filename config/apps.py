"""The project's own app: it registers the project's system checks (config/checks.py)."""

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Installed as "config" in INSTALLED_APPS; it has no models."""

    name = "config"
    verbose_name = "Project configuration"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registering is what importing it does)
