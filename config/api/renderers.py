"""Family M's success envelope: views return their domain payload, the renderer adds
`"success": true` in front of it."""

from __future__ import annotations

from rest_framework.renderers import JSONRenderer


class MovieJSONRenderer(JSONRenderer):
    """JSON with `"success": true` first in every successful object body.

    Error bodies (status ≥ 400) already carry `"success": false` from the error handler and
    pass untouched, as do non-object bodies.
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        status = getattr(response, "status_code", 200)
        if isinstance(data, dict) and status < 400:
            data = {"success": True, **{k: v for k, v in data.items() if k != "success"}}
        return super().render(data, accepted_media_type, renderer_context)
