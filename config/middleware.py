"""Django's middleware written as async middleware, and the browser's middleware only for browsers.

settings.MIDDLEWARE names these classes, and Django loads them as it loads any middleware.

Under ASGI, Django runs each hook of a sync middleware (`process_request`, `process_response`,
`process_view`) through `sync_to_async`: a hop to the request's worker thread and back, per
hook, per request. With the stock chain that was a dozen hops on every API request, most of
its serving time (bench/README.md). These classes are async-only middleware as Django's
"Asynchronous support" documents it (`sync_capable = False`, `async_capable = True`, an
`async def __call__`, an async `process_view`), and keep every answer identical:

- `SecurityMiddleware`, `CommonMiddleware`, `XFrameOptionsMiddleware` and
  `ContentSecurityPolicyMiddleware` run the public hooks of Django's class on the event loop:
  they only read the request and set headers, with no I/O, so nothing is gained by leaving the
  loop for them.
- `SessionMiddleware`, `CsrfViewMiddleware`, `AuthenticationMiddleware` and
  `MessageMiddleware` hand family API requests (`config.families`) straight to the next
  handler, and pass everything else (the admin, the OpenAPI schema and Swagger UI, static
  files) to an instance of Django's own class, which runs as it always does. API views never
  touch Django's session, user, messages or CSRF token: they are DRF views (CSRF-exempt,
  authenticated by their own classes) and family A's cookie identity reads its session itself.

Each class subclasses Django's, so the admin's system checks (which look for subclasses of
the session, auth and messages middleware) know them; config/checks.py runs the deployment
checks that look for Django's exact class names against these classes.
"""

from __future__ import annotations

from asgiref.sync import markcoroutinefunction, sync_to_async
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.middleware import clickjacking, common, csp, csrf, security

from config.families import family_for_path

BROWSER_API_PATHS = ("/api/docs/", "/api/schema/")


def is_api_request(request) -> bool:
    """A family route (not the browser pages that live under /api/: docs and schema)."""
    path = request.path
    return family_for_path(path) is not None and not path.startswith(BROWSER_API_PATHS)


class OnTheEventLoop:
    """Run the Django class's own hooks on the event loop: they must not do I/O."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        super().__init__(get_response)
        markcoroutinefunction(self)

    async def __call__(self, request):
        response = self.process_request(request) if hasattr(self, "process_request") else None
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class SecurityMiddleware(OnTheEventLoop, security.SecurityMiddleware):
    """Django's SecurityMiddleware (HTTPS redirect, HSTS, nosniff, referrer and COOP)."""


class CommonMiddleware(OnTheEventLoop, common.CommonMiddleware):
    """Django's CommonMiddleware (disallowed user agents, slash and www redirects)."""


class XFrameOptionsMiddleware(OnTheEventLoop, clickjacking.XFrameOptionsMiddleware):
    """Django's XFrameOptionsMiddleware (X-Frame-Options)."""


class ContentSecurityPolicyMiddleware(OnTheEventLoop, csp.ContentSecurityPolicyMiddleware):
    """Django's ContentSecurityPolicyMiddleware (the header of SECURE_CSP)."""


class BrowserOnly:
    """Skip the middleware for family API requests; run Django's class unchanged for the rest.

    `stock` is Django's class. Its instance (`self.browser`) is built around the same next
    handler, so it runs in Django's async mode, with its hooks in the request's thread as
    always. The subclass's own inherited state is not used: it is a subclass for the checks.
    """

    sync_capable = False
    async_capable = True
    stock: type

    def __init__(self, get_response):
        self.get_response = get_response
        self.browser = self.stock(get_response)
        markcoroutinefunction(self)

    async def __call__(self, request):
        if is_api_request(request):
            return await self.get_response(request)
        return await self.browser(request)


class SessionMiddleware(BrowserOnly, sessions.SessionMiddleware):
    """Django's SessionMiddleware, for the browser's pages."""

    stock = sessions.SessionMiddleware


class AuthenticationMiddleware(BrowserOnly, auth.AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, for the browser's pages."""

    stock = auth.AuthenticationMiddleware


class MessageMiddleware(BrowserOnly, messages.MessageMiddleware):
    """Django's MessageMiddleware, for the browser's pages."""

    stock = messages.MessageMiddleware


class CsrfViewMiddleware(BrowserOnly, csrf.CsrfViewMiddleware):
    """Django's CsrfViewMiddleware, for the browser's pages.

    Its `process_view` is a hook Django calls per request outside the chain. It is a coroutine
    here, so an API request (whose views are all CSRF-exempt anyway) does not hop to a thread
    just to be told so; a browser page's check runs in the request's thread, as Django runs a
    sync hook (it may read the form body or the session).
    """

    stock = csrf.CsrfViewMiddleware

    async def process_view(self, request, callback, callback_args, callback_kwargs):
        if is_api_request(request):
            return None
        return await sync_to_async(self.browser.process_view, thread_sensitive=True)(
            request, callback, callback_args, callback_kwargs
        )
