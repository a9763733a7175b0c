"""Family M's project routes: thin views over projects.services and projects.selectors."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from config.api.base import MovieApiView
from config.api.params import body_input, query_input
from config.api.schema import MOVIE_ERRORS, MovieError
from projects import selectors, services
from projects.serializers import (
    InvitationAcceptOutput,
    InvitationEnvelope,
    InvitationListOutput,
    InvitationOutput,
    InviteInput,
    ProjectDetail,
    ProjectInput,
    ProjectListItem,
    ProjectListOutput,
    ProjectListQuery,
    ProjectOutput,
    ProjectUpdateInput,
    ReceivedInvitationOutput,
)

_ERRORS_WITH = {
    402: OpenApiResponse(MovieError, description="SUBSCRIPTION_LIMIT: the tier allows no more"),
    409: OpenApiResponse(MovieError, description="Duplicate title or pending invitation"),
}


def _detail(request, project_id: str) -> dict:
    project = selectors.project_detail_for(request.user, project_id)
    return {"project": ProjectDetail(project, context={"request": request}).data}


class ProjectListCreateApi(MovieApiView):
    @extend_schema(
        tags=["projects"],
        parameters=[ProjectListQuery],
        responses={200: ProjectListOutput, **MOVIE_ERRORS},
        summary="List the projects you own or collaborate on",
        operation_id="projects_list",
    )
    def get(self, request):
        query = query_input(ProjectListQuery, request)
        query.pop("page", None)
        query.pop("limit", None)
        projects = selectors.project_list(user=request.user, **query)
        items, pagination = self.paginate(projects, request)
        return Response(
            {"projects": ProjectListItem(items, many=True).data, "pagination": pagination}
        )

    @extend_schema(
        tags=["projects"],
        request=ProjectInput,
        responses={201: ProjectOutput, **MOVIE_ERRORS, **_ERRORS_WITH},
        summary="Create a project (free tier: at most 3)",
        operation_id="projects_create",
    )
    def post(self, request):
        data = body_input(ProjectInput, request)
        project = services.project_create(owner=request.user, data=data)
        return Response(_detail(request, project.pk), status=status.HTTP_201_CREATED)


class ProjectDetailApi(MovieApiView):
    @extend_schema(
        tags=["projects"],
        responses={200: ProjectOutput, **MOVIE_ERRORS},
        summary="A project with its progress, collaborators, media and active sessions",
        operation_id="projects_retrieve",
    )
    def get(self, request, project_id: str):
        return Response(_detail(request, project_id))

    @extend_schema(
        tags=["projects"],
        request=ProjectUpdateInput,
        responses={200: ProjectOutput, **MOVIE_ERRORS, 409: _ERRORS_WITH[409]},
        summary="Change some fields of a project (owner and collaborators; not viewers)",
        operation_id="projects_update",
    )
    def put(self, request, project_id: str):
        project = selectors.project_get_for(request.user, project_id, write=True)
        data = body_input(ProjectUpdateInput, request, partial=True)
        services.project_update(project=project, data=data)
        return Response(_detail(request, project_id))


class ProjectCollaboratorsApi(MovieApiView):
    @extend_schema(
        tags=["projects"],
        request=InviteInput,
        responses={200: InvitationEnvelope, **MOVIE_ERRORS, 409: _ERRORS_WITH[409]},
        summary="Invite someone by e-mail as collaborator or viewer (owner only; 7 days)",
        operation_id="projects_collaborators_invite",
    )
    def post(self, request, project_id: str):
        project = selectors.project_get_for(request.user, project_id)
        data = body_input(InviteInput, request)
        invitation = services.collaborator_invite(
            project=project, inviter=request.user, email=data["email"], role=data["role"]
        )
        return Response({"invitation": InvitationOutput(invitation).data})


class InvitationListApi(MovieApiView):
    @extend_schema(
        tags=["projects"],
        parameters=[
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("limit", int, required=False),
        ],
        responses={200: InvitationListOutput, **MOVIE_ERRORS},
        summary="Pending invitations addressed to your e-mail",
        operation_id="invitations_list",
    )
    def get(self, request):
        items, pagination = self.paginate(selectors.invitations_for(request.user), request)
        return Response(
            {
                "invitations": ReceivedInvitationOutput(items, many=True).data,
                "pagination": pagination,
            }
        )


class InvitationAcceptApi(MovieApiView):
    @extend_schema(
        tags=["projects"],
        request=None,
        responses={200: InvitationAcceptOutput, **MOVIE_ERRORS, 409: _ERRORS_WITH[409]},
        summary="Accept an invitation sent to your e-mail: you join the project",
        operation_id="invitations_accept",
    )
    def post(self, request, invitation_id: str):
        invitation = services.invitation_accept(invitation_id=invitation_id, user=request.user)
        return Response(
            {
                "invitation": InvitationOutput(invitation).data,
                **_detail(request, invitation.project_id),
            }
        )
