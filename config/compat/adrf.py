"""adrf's async view, with a sync handler's request served in one thread hop.

A route that waits on a model has an async handler; other methods of the same route (a plain
read, an update) are sync, and one URL maps to one class. Stock adrf serves a sync handler of
an async class in three hops: `initial()` in a thread (`sync_to_async`), from that thread back
to the event loop for the async throttles even when there are none (`async_to_sync`), then
the handler in a thread again. Measured by tests/test_api_base.py, which counts the hops of
`GET /api/characters/<id>`: 2 `sync_to_async` and 1 `async_to_sync` stock, 1 and 0 here. That
route is the REST benchmark's (issue 21), where each hop is a thread switch and a wait on
the event loop.

adrf has no hook for it. `OneHopAPIView` relies on how adrf 0.1.x dispatches: `dispatch`
calls `async_dispatch` when `view_is_async`, and `sync_dispatch` runs DRF's whole request
cycle (authentication, permissions, throttles, handler, exception handling, finalisation)
synchronously. A sync handler's request runs `sync_dispatch` in one `sync_to_async` call, as
Django runs a sync view; an async handler keeps adrf's path. `check_throttles` skips adrf's
round trip to the event loop when no throttle of the view is async.

Checked for TESTED; on any other adrf version `AsyncAPIView` is adrf's `APIView` unchanged
(it serves sync handlers too, in more hops). tests/test_api_base.py fails when the pin moves.
"""

from __future__ import annotations

from importlib.metadata import version
from inspect import iscoroutinefunction

from adrf.views import APIView as AdrfAPIView
from asgiref.sync import sync_to_async
from rest_framework.views import APIView as DRFAPIView

TESTED = ("0.1.14",)
ACTIVE = version("adrf") in TESTED


class OneHopAPIView(AdrfAPIView):
    """adrf's `APIView`; a sync handler's whole request runs in one thread hop."""

    view_is_async = True

    async def async_dispatch(self, request, *args, **kwargs):
        method = request.method.lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        if handler is not None and iscoroutinefunction(handler):
            return await super().async_dispatch(request, *args, **kwargs)
        return await sync_to_async(self.sync_dispatch)(request, *args, **kwargs)

    def check_throttles(self, request):
        if any(iscoroutinefunction(t.allow_request) for t in self.get_throttles()):
            return super().check_throttles(request)
        return DRFAPIView.check_throttles(self, request)


class StockAsyncAPIView(AdrfAPIView):
    """adrf's `APIView` as shipped, for a class whose handlers are async or mixed (adrf runs a
    sync handler with `sync_to_async`; Django's all-or-none check would refuse the class)."""

    view_is_async = True


AsyncAPIView = OneHopAPIView if ACTIVE else StockAsyncAPIView
