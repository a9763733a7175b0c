"""Django's middleware without thread hops, and the browser's middleware only for browsers.

settings.MIDDLEWARE names Django's own classes (the deployment checks and the tests read those
names); the ASGI handler of config.asgi (config/handler.py) loads the equivalents below in
their place, as FAST_EQUIVALENTS maps them.

Under ASGI, Django runs each hook of a sync middleware (`process_request`, `process_response`,
`process_view`) through `sync_to_async`: a hop to the request's worker thread and back, per
hook, per request. With the stock chain that was a dozen hops on every API request, most of
its serving time (bench/README.md). Two remedies, each keeping every answer identical:

- `Inline…` subclasses run hooks that only read the request and set headers (security,
  common, clickjacking, CSP) on the event loop: they do no I/O, so nothing is gained by
  leaving the loop for them.
- `BrowserOnly…` subclasses (sessions, CSRF, auth, messages) pass family API requests
  (`config.families`) straight through and run as before for everything else: the admin,
  the OpenAPI schema and Swagger UI, static files. API views never touch Django's session,
  user, messages or CSRF token: they are DRF views (CSRF-exempt, authenticated by their own
  classes) and family A's cookie identity reads its session itself (chats/identity.py).
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.csp import ContentSecurityPolicyMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware

from config.families import family_for_path

BROWSER_API_PATHS = ("/api/docs/", "/api/schema/")


def is_api_request(request) -> bool:
    """A family route (not the browser pages that live under /api/: docs and schema)."""
    path = request.path
    return family_for_path(path) is not None and not path.startswith(BROWSER_API_PATHS)


class InlineHooksMixin:
    """Run the middleware's own sync hooks on the event loop: they must not do I/O."""

    async def __acall__(self, request):
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class BrowserOnlyMixin:
    """Skip the middleware for family API requests; run it unchanged for the rest."""

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        if is_api_request(request):
            return self.get_response(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if is_api_request(request):
            return await self.get_response(request)
        return await super().__acall__(request)


class InlineSecurityMiddleware(InlineHooksMixin, SecurityMiddleware):
    pass


class InlineCommonMiddleware(InlineHooksMixin, CommonMiddleware):
    pass


class InlineXFrameOptionsMiddleware(InlineHooksMixin, XFrameOptionsMiddleware):
    pass


class InlineContentSecurityPolicyMiddleware(InlineHooksMixin, ContentSecurityPolicyMiddleware):
    pass


class BrowserOnlySessionMiddleware(BrowserOnlyMixin, SessionMiddleware):
    pass


class BrowserOnlyAuthenticationMiddleware(BrowserOnlyMixin, AuthenticationMiddleware):
    pass


class BrowserOnlyMessageMiddleware(BrowserOnlyMixin, MessageMiddleware):
    pass


class BrowserOnlyCsrfViewMiddleware(BrowserOnlyMixin, CsrfViewMiddleware):
    """CSRF for the browser's pages. Its `process_view` is a hook Django calls per request
    outside the chain; in async mode it is made a coroutine, so an API request (whose views
    are all CSRF-exempt anyway) does not hop to a thread just to be told so."""

    def __init__(self, get_response):
        super().__init__(get_response)
        if self.async_mode:
            self.process_view = self._aprocess_view

    async def _aprocess_view(self, request, callback, callback_args, callback_kwargs):
        if is_api_request(request):
            return None
        return await sync_to_async(CsrfViewMiddleware.process_view, thread_sensitive=True)(
            self, request, callback, callback_args, callback_kwargs
        )

    def process_view(self, request, callback, callback_args, callback_kwargs):
        if is_api_request(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


FAST_EQUIVALENTS = {
    "django.middleware.security.SecurityMiddleware": InlineSecurityMiddleware,
    "django.contrib.sessions.middleware.SessionMiddleware": BrowserOnlySessionMiddleware,
    "django.middleware.common.CommonMiddleware": InlineCommonMiddleware,
    "django.middleware.csrf.CsrfViewMiddleware": BrowserOnlyCsrfViewMiddleware,
    "django.contrib.auth.middleware.AuthenticationMiddleware": BrowserOnlyAuthenticationMiddleware,
    "django.contrib.messages.middleware.MessageMiddleware": BrowserOnlyMessageMiddleware,
    "django.middleware.clickjacking.XFrameOptionsMiddleware": InlineXFrameOptionsMiddleware,
    "django.middleware.csp.ContentSecurityPolicyMiddleware": InlineContentSecurityPolicyMiddleware,
}
