from core.errors import AuthRequired


class InvalidCredentials(AuthRequired):
    """E-mail and password do not match an active user."""
