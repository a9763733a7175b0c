"""WhiteNoise in an async middleware chain.

WhiteNoise's middleware is sync-only, and one sync-only middleware makes Django run the
whole chain above it in a worker thread with hops back to the event loop for the async
ones: on this machine that alone cost a third of the time of a trivial request. This
subclass serves static files as WhiteNoise does and otherwise awaits the next handler
directly, so API requests stay on the event loop until their view.
"""

from __future__ import annotations

import os

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, *args, **kwargs):
        super().__init__(get_response, *args, **kwargs)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        return super().__call__(request)

    def add_files(self, root, prefix=None):
        # STATIC_ROOT exists only after a collectstatic; without it the finders serve the
        # apps' files (WHITENOISE_USE_FINDERS), so a missing directory is no cause to warn.
        if not self.autorefresh and not os.path.isdir(root):
            return
        super().add_files(root, prefix)

    async def _acall(self, request):
        if self.autorefresh:
            # Development only: finding a file touches the disk, so not on the event loop.
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)
