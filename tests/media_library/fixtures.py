"""Fixtures and helpers of the media tests: files under a temporary MEDIA_ROOT, projects,
members and multipart uploads. Test modules import the fixtures they use."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.services import tokens_for_user
from projects.models import Collaborator, CollaboratorRole, Project
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def project(user):
    return Project.objects.create(owner=user, title="Harbour Lights")


def client_for(user):
    from tests.conftest import JsonClient

    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=user).access}")
    return c


def member(project, role: str):
    user = UserFactory()
    Collaborator.objects.create(project=project, user=user, role=role)
    return user


@pytest.fixture
def viewer_client(project):
    return client_for(member(project, CollaboratorRole.VIEWER))


@pytest.fixture
def collaborator_client(project):
    return client_for(member(project, CollaboratorRole.COLLABORATOR))


def upload(client, **data):
    """POST /api/v1/media/upload as multipart (files as lists under `files` or `file`)."""
    return APIClient.post(client, "/api/v1/media/upload", data, format="multipart")
