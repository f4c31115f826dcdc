"""The SMS gateway hands over inbound SMS: ``POST /api/v1/sms/inbound/``.

The gateway is an API client (token auth) whose role holds ``servicedesk.add_inboundsms``.
Each message is answered once per ``message_id``; a repeat gets the first answer (200,
``Idempotent-Replayed: true``) and sends nothing again. The reply goes back to the sender
through the outbox; it is in the response too, for the gateway's records.
"""
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from . import sms_hall
from .models import InboundSms


class InboundSmsSerializer(serializers.Serializer):
    message_id = serializers.CharField(max_length=sms_hall.MESSAGE_ID_MAX, help_text="The gateway's own id of the message: one answer per id.")
    text = serializers.CharField(max_length=sms_hall.TEXT_MAX, allow_blank=True, trim_whitespace=True, help_text="What the customer wrote.")
    received_at = serializers.DateTimeField(required=False, help_text="When the gateway received it (default: now).")

    def get_fields(self):
        fields = super().get_fields()
        # "from" is a Python keyword, so the field is added here rather than declared above.
        fields["from"] = serializers.CharField(max_length=20, help_text="The sender's number (11-digit mobile, +86 allowed).")
        return fields


class InboundSmsAnswerSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=InboundSms.Outcome.choices, help_text="answered, for_agent, unknown_sender or malformed.")
    reply = serializers.CharField(help_text="The text sent back to the sender.")


class SmsInboundView(APIView):
    queryset = InboundSms.objects.none()  # RoleModelPermissions: a POST needs servicedesk.add_inboundsms

    @extend_schema(
        summary="Hand over an inbound SMS (SMS gateway)",
        request=InboundSmsSerializer,
        responses={
            200: OpenApiResponse(InboundSmsAnswerSerializer, description="Answered (or answered before: Idempotent-Replayed: true)."),
            400: OpenApiResponse(description="Invalid body; detail names the field. Nothing stored, nothing sent."),
            403: OpenApiResponse(description="The account is not the SMS gateway."),
        },
        examples=[
            OpenApiExample("Order status", request_only=True, value={
                "message_id": "GW-20261123-000001", "from": "13812345678", "text": "ORDER 1234", "received_at": "2026-11-23T09:12:00+08:00",
            }),
            OpenApiExample("Answer", response_only=True, value={"outcome": "answered", "reply": "Order #1234, 5G SIM 129: Accepted. ..."}),
        ],
    )
    def post(self, request):
        data = InboundSmsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # The service's own ValidationError (a number that is not a mainland line) is a 400 naming the field.
        inbound, created = sms_hall.sms_inbound_receive(
            message_id=values["message_id"], from_number=values["from"], text=values["text"], received_at=values.get("received_at"),
        )
        response = Response(InboundSmsAnswerSerializer(inbound).data, status=status.HTTP_200_OK)
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response
