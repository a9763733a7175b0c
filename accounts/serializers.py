from rest_framework import serializers


class LoginInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class RefreshInput(serializers.Serializer):
    refreshToken = serializers.CharField(max_length=4096, required=False)
    refresh = serializers.CharField(max_length=4096, required=False)

    def validate(self, attrs):
        token = attrs.get("refreshToken") or attrs.get("refresh")
        if not token:
            raise serializers.ValidationError({"refreshToken": "This field is required."})
        return {"refresh": token}


class UserOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    email = serializers.EmailField()
    name = serializers.CharField()
    role = serializers.CharField()
    tier = serializers.CharField()


class LoginOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    token = serializers.CharField()
    refreshToken = serializers.CharField()
    user = UserOutput()


class RefreshOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    token = serializers.CharField()
    refreshToken = serializers.CharField()


class LogoutOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    loggedOut = serializers.BooleanField()
