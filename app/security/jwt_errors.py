"""What the API answers when its token is missing or bad: 401 with a JSON message, as documented.

flask-jwt-extended answers a malformed, expired or wrong-kind token with 422 and `{"msg": ...}`,
which is neither the status a client must react to (sign in again) nor the API's error shape
(`{"message": ..., "field": null}`, app.api.contract).
"""
from flask import jsonify
from flask_jwt_extended import JWTManager

from app.errors import N_, translate

MSG_NO_TOKEN = N_("Sign in first: send your access token as \"Authorization: Bearer <token>\".")
MSG_BAD_TOKEN = N_("The token is not valid here: sign in again.")
MSG_EXPIRED_TOKEN = N_("The token has expired: refresh it or sign in again.")
MSG_ENDED_TOKEN = N_("The token no longer counts: sign in again.")


def _unauthorized(message: str):
    response = jsonify(message=translate(message), field=None)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="sitthi"'
    return response


def answer_token_errors(jwt_manager: JWTManager) -> JWTManager:
    jwt_manager.unauthorized_loader(lambda _reason: _unauthorized(MSG_NO_TOKEN))
    jwt_manager.invalid_token_loader(lambda _reason: _unauthorized(MSG_BAD_TOKEN))
    jwt_manager.expired_token_loader(lambda _header, _data: _unauthorized(MSG_EXPIRED_TOKEN))
    jwt_manager.revoked_token_loader(lambda _header, _data: _unauthorized(MSG_ENDED_TOKEN))
    jwt_manager.needs_fresh_token_loader(lambda _header, _data: _unauthorized(MSG_BAD_TOKEN))
    jwt_manager.token_verification_failed_loader(lambda _header, _data: _unauthorized(MSG_BAD_TOKEN))
    jwt_manager.user_lookup_error_loader(lambda _header, _data: _unauthorized(MSG_ENDED_TOKEN))
    return jwt_manager
