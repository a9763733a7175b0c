"""Django's security checks for the middleware that serves, which Django knows by other names.

Some of Django's security checks look for the exact dotted path of Django's own middleware in
settings.MIDDLEWARE (`"django.middleware.security.SecurityMiddleware" in MIDDLEWARE`), not for
a subclass. settings.MIDDLEWARE names the classes of config/middleware.py, which subclass
Django's, so those checks would warn that the middleware is missing (security.W001, W002, W003)
and pass every check that depends on it (HSTS, SSL redirect, X-Frame-Options DENY, the CSRF
cookie...) without looking. The checks below run the same Django check functions with each
served class named as the Django class it subclasses, as the admin's own checks judge
middleware; settings silence the three "missing" warnings of the stock run, and the run here
reports them, when they are due, as `config.security.W001` and so on.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.core.checks.security import base
from django.core.checks.security import csrf as csrf_checks
from django.middleware import clickjacking, csp, csrf, security
from django.test.utils import override_settings
from django.utils.module_loading import import_string

STOCK_CLASSES = (
    security.SecurityMiddleware,
    clickjacking.XFrameOptionsMiddleware,
    csrf.CsrfViewMiddleware,
    csp.ContentSecurityPolicyMiddleware,
)
# The stock checks that fire only because Django's exact names are absent; silenced in settings.
MISSING_BY_NAME = ("security.W001", "security.W002", "security.W003")
DEPLOY_CHECKS = (
    base.check_security_middleware,
    base.check_xframe_options_middleware,
    base.check_sts,
    base.check_sts_include_subdomains,
    base.check_sts_preload,
    base.check_content_type_nosniff,
    base.check_ssl_redirect,
    base.check_xframe_deny,
    base.check_referrer_policy,
    base.check_cross_origin_opener_policy,
    csrf_checks.check_csrf_middleware,
    csrf_checks.check_csrf_cookie_secure,
)
CHECKS = (base.check_csp_nonce_context_processor,)


def stock_name(path: str) -> str:
    """The dotted path of the Django class that the middleware at `path` subclasses (or
    `path` itself, for any other middleware)."""
    middleware = import_string(path)
    for stock in STOCK_CLASSES:
        if isinstance(middleware, type) and issubclass(middleware, stock):
            return f"{stock.__module__}.{stock.__qualname__}"
    return path


def run_as_stock(checks, app_configs) -> list:
    """Run Django's `checks` with MIDDLEWARE as Django's names for the served classes."""
    with override_settings(MIDDLEWARE=[stock_name(path) for path in settings.MIDDLEWARE]):
        messages = [message for check in checks for message in check(app_configs)]
    return [
        Warning(message.msg, hint=message.hint, obj=message.obj, id=f"config.{message.id}")
        if message.id in MISSING_BY_NAME
        else message
        for message in messages
    ]


@register(Tags.security, deploy=True)
def check_served_middleware_for_deployment(app_configs, **kwargs):
    """Django's deployment checks of the security, clickjacking and CSRF middleware."""
    return run_as_stock(DEPLOY_CHECKS, app_configs)


@register(Tags.security)
def check_served_middleware(app_configs, **kwargs):
    """Django's check of the CSP nonce, for the served CSP middleware."""
    return run_as_stock(CHECKS, app_configs)
