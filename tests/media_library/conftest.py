from tests.media_library.fixtures import (  # noqa: F401
    collaborator_client,
    media_root,
    project,
    viewer_client,
)
