"""mockhttp: the Litestar adapter that speaks the OpenAI wire protocol for mockcore."""

from mockhttp.access_log import RawASGIApp as ASGIApp
from mockhttp.app import create_app, create_app_from_env, settings_from_environ
from mockhttp.fast_path import MockServerApp
from mockhttp.services import Services, local_services

__all__ = [
    "ASGIApp",
    "MockServerApp",
    "Services",
    "create_app",
    "create_app_from_env",
    "local_services",
    "settings_from_environ",
]
