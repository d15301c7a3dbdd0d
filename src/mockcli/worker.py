"""The target Granian imports in every worker process.

Workers may be spawned rather than forked, so nothing is inherited: logging and the app are
built here from the environment the CLI prepared.
"""

import os

from litestar import Litestar

from mockcli.logs import configure_logging, wants_json
from mockhttp import create_app_from_env, settings_from_environ


def create_worker_app() -> Litestar:
    """Configure this worker's logging, then build the app from the environment."""
    settings = settings_from_environ(os.environ)
    configure_logging(settings.effective_log_level, wants_json())
    return create_app_from_env()
