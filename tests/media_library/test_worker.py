"""The background analysis really runs in the background, and a task whose worker died is
run again instead of being lost."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from media_library import services
from media_library.models import Media
from media_library.worker import requeue_stale_tasks, run_pending_tasks
from tests.media_library.images import RED, image_bytes, upload_file

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _upload(user, project) -> Media:
    [media], rejected = services.media_upload(
        user=user,
        project=project,
        files=[upload_file("red.png", image_bytes(RED))],
        media_type="concept_art",
    )
    assert rejected == []
    return media


@pytest.mark.django_db
def test_the_task_row_is_written_with_the_media(user, project):
    media = _upload(user, project)
    [task] = DBTaskResult.objects.all()
    assert task.status == TaskResultStatus.READY
    assert task.task_path == "media_library.tasks.media_analyse_task"
    assert task.args_kwargs == {"args": [media.pk], "kwargs": {}}


@pytest.mark.django_db
def test_a_task_claimed_by_a_dead_worker_is_requeued_and_completes(user, project, settings):
    settings.TASKS_STALE_AFTER_SECONDS = 600
    media = _upload(user, project)
    task = DBTaskResult.objects.get()
    # What a worker killed mid-task leaves behind: its claim, and nothing more.
    task.claim("worker-that-died")
    DBTaskResult.objects.filter(pk=task.pk).update(
        started_at=timezone.now() - timedelta(seconds=601)
    )
    assert run_pending_tasks() == 0  # nobody runs a RUNNING task by itself

    assert requeue_stale_tasks() == 1
    assert run_pending_tasks(worker_id="worker-2") == 1
    task.refresh_from_db()
    assert task.status == TaskResultStatus.SUCCESSFUL
    assert task.worker_ids == ["worker-that-died", "worker-2"]
    media.refresh_from_db()
    assert media.status == "active"


@pytest.mark.django_db
def test_a_recent_claim_is_left_to_its_worker(user, project, settings):
    settings.TASKS_STALE_AFTER_SECONDS = 600
    _upload(user, project)
    DBTaskResult.objects.get().claim("busy-worker")
    assert requeue_stale_tasks() == 0
    assert DBTaskResult.objects.get().status == TaskResultStatus.RUNNING


@pytest.mark.django_db
def test_a_second_run_of_a_finished_analysis_changes_nothing(user, project):
    media = _upload(user, project)
    run_pending_tasks()
    media.refresh_from_db()
    assert services.media_analyse(media_id=media.pk) == "skipped"
    assert Media.objects.get(pk=media.pk).analysed_at == media.analysed_at


@pytest.mark.django_db
def test_a_lost_file_fails_the_media_with_a_reason(user, project):
    media = _upload(user, project)
    # The stored file disappears (a storage outage): the task ends, the media says why.
    media.file.storage.delete(media.file.name)
    Media.objects.filter(pk=media.pk).update(file="")
    run_pending_tasks()
    media.refresh_from_db()
    assert media.status == "failed"
    assert "could not be decoded" in media.failure_reason
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL


@pytest.mark.django_db(transaction=True)
def test_the_media_worker_command_recovers_and_runs_a_task(user, project, media_root):
    """`manage.py media_worker` in its own process, on the test database, as `make run`
    starts it: it requeues the task a dead worker left, runs it, and the media is active."""
    assert not (connection.vendor == "sqlite" and connection.is_in_memory_db())
    media = _upload(user, project)
    # The task was claimed by a worker that died long ago: the new worker requeues it first.
    task = DBTaskResult.objects.get()
    task.claim("worker-that-died")
    DBTaskResult.objects.filter(pk=task.pk).update(
        started_at=timezone.now() - timedelta(seconds=120)
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.live_settings",
        "LIVE_SERVER_DB_NAME": str(connection.settings_dict["NAME"]),
        "LIVE_SERVER_APPLICATION_NAME": "aistory-media-worker-test",
        "MEDIA_ROOT": str(media_root),
        "TASKS_STALE_AFTER_SECONDS": "60",
    }
    command = [sys.executable, "manage.py", "media_worker", "--batch", "--no-startup-delay"]
    completed = subprocess.run(
        command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    media.refresh_from_db()
    assert media.status == "active", completed.stdout + completed.stderr
    assert media.thumbnail and media.embedding_dimensions == 256
    task.refresh_from_db()
    assert task.status == TaskResultStatus.SUCCESSFUL
    assert task.worker_ids[0] == "worker-that-died" and len(task.worker_ids) == 2


@pytest.mark.django_db
def test_the_admin_action_queues_the_analysis_again(admin_client, user, project):
    media = _upload(user, project)
    Media.objects.filter(pk=media.pk).update(status="failed", failure_reason="model down")
    response = admin_client.post(
        "/admin/media_library/media/",
        {"action": "reanalyse", "_selected_action": [media.pk]},
        follow=True,
    )
    assert response.status_code == 200
    media.refresh_from_db()
    assert media.status == "processing" and media.failure_reason == ""
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 2
    run_pending_tasks()
    media.refresh_from_db()
    assert media.status == "active"
