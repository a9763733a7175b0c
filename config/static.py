"""WhiteNoise in an async middleware chain, asked only about the browser's paths.

WhiteNoise's middleware is sync-only, and one sync-only middleware makes Django run the
whole chain above it in a worker thread with hops back to the event loop for the async
ones: on this machine that alone cost a third of the time of a trivial request. This async
middleware hands family API requests (never a static file) straight to the next handler and
asks an instance of WhiteNoise's own middleware about every other path, in the request's
thread (finding a file may touch the disk); WhiteNoise answers with the file, or with what
its `get_response` gives, here None, for "not mine".
"""

from __future__ import annotations

import os

from asgiref.sync import markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware

from config.middleware import is_api_request


def not_a_static_file(request) -> None:
    """WhiteNoise's next handler: None tells the async middleware to go on down the chain."""
    return None


class QuietWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise's middleware, with no warning for a STATIC_ROOT not collected yet."""

    def add_files(self, root, prefix=None):
        # STATIC_ROOT exists only after a collectstatic; without it the finders serve the
        # apps' files (WHITENOISE_USE_FINDERS), so a missing directory is no cause to warn.
        if not self.autorefresh and not os.path.isdir(root):
            return
        super().add_files(root, prefix)


class AsyncWhiteNoiseMiddleware:
    """Static files as WhiteNoise serves them; API requests pass by on the event loop."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.static = QuietWhiteNoiseMiddleware(get_response=not_a_static_file)
        markcoroutinefunction(self)

    async def __call__(self, request):
        if not is_api_request(request):
            response = await sync_to_async(self.static, thread_sensitive=True)(request)
            if response is not None:
                return response
        return await self.get_response(request)
