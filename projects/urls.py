from django.urls import path

from projects import apis

urlpatterns = [
    path("projects", apis.ProjectListCreateApi.as_view(), name="movie-projects"),
    path("projects/<str:project_id>", apis.ProjectDetailApi.as_view(), name="movie-project"),
    path(
        "projects/<str:project_id>/collaborators",
        apis.ProjectCollaboratorsApi.as_view(),
        name="movie-project-collaborators",
    ),
    path("invitations", apis.InvitationListApi.as_view(), name="movie-invitations"),
    path(
        "invitations/<str:invitation_id>/accept",
        apis.InvitationAcceptApi.as_view(),
        name="movie-invitation-accept",
    ),
]
