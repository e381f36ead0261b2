"""Cluster membership and per-app tokens.

Members (node agents, clients, resmgr itself) present the cluster secret in the
``x-yarnflow-secret`` metadata. An appmaster and its tasks present an app token
(an HMAC of the app id with the secret) in ``x-yarnflow-app-token`` beside
``x-yarnflow-app-id``: it opens only that app's doors. A container token (an HMAC
of the allocation) proves to a node agent that resmgr granted a container.
TLS, users and ACLs can later add metadata keys without changing these.
"""

import dataclasses
import hashlib
import hmac
import os
import pathlib
import secrets

import grpc

from yarnflow.errors import YarnflowError

SECRET_ENV = "YARNFLOW_SECRET"
SECRET_FILE_ENV = "YARNFLOW_SECRET_FILE"
SECRET_FILE_NAME = "cluster.secret"
SECRET_KEY = "x-yarnflow-secret"
APP_ID_KEY = "x-yarnflow-app-id"
APP_TOKEN_KEY = "x-yarnflow-app-token"


def load_or_create_secret(data_dir):
    """The cluster secret: ``$YARNFLOW_SECRET`` when set, else the data dir's file, created on first start."""
    env = os.environ.get(SECRET_ENV)
    if env:
        return env
    path = pathlib.Path(data_dir) / SECRET_FILE_NAME
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    os.replace(tmp, path)
    return value


def read_secret(secret_file=None, fallback_file=None):
    """The secret a member presents: from ``secret_file``, ``$YARNFLOW_SECRET``, ``$YARNFLOW_SECRET_FILE``
    or ``fallback_file`` (the local cluster's), in that order; None when there is none."""
    if secret_file:
        path = pathlib.Path(secret_file)
        if not path.exists():
            raise YarnflowError(f"secret file {path} does not exist")
        return path.read_text().strip()
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    for candidate in (os.environ.get(SECRET_FILE_ENV), fallback_file):
        if candidate and pathlib.Path(candidate).exists():
            return pathlib.Path(candidate).read_text().strip()
    return None


def _mac(secret, *parts):
    msg = "\x1f".join(str(p) for p in parts).encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def app_token(secret, app_id):
    """The token that lets an app's master and tasks act for ``app_id`` alone."""
    return _mac(secret, "app", app_id)


def container_token(secret, container_id, app_id, node_id, port):
    """The token a node agent checks before starting a container resmgr granted."""
    return _mac(secret, "container", container_id, app_id, node_id, port)


def check(expected, given):
    """Constant-time comparison of two tokens."""
    return bool(given) and hmac.compare_digest(expected, given)


def member_metadata(secret):
    """Call metadata for a cluster member."""
    return ((SECRET_KEY, secret),) if secret else ()


def app_metadata(app_id, token):
    """Call metadata for an appmaster or task of ``app_id``."""
    return ((APP_ID_KEY, app_id), (APP_TOKEN_KEY, token))


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who made an RPC: a cluster member (app_id None) or one app."""

    app_id: str | None

    @property
    def is_member(self):
        """True for a holder of the cluster secret."""
        return self.app_id is None

    def may_act_for(self, app_id):
        """True when this caller may touch ``app_id``."""
        return self.app_id is None or self.app_id == app_id


def authenticate(context, secret, allow_app=True):
    """Identify the caller of an RPC from its metadata, or abort it with UNAUTHENTICATED."""
    md = dict(context.invocation_metadata())
    if check(secret, md.get(SECRET_KEY)):
        return Caller(None)
    app_id = md.get(APP_ID_KEY)
    if allow_app and app_id and check(app_token(secret, app_id), md.get(APP_TOKEN_KEY)):
        return Caller(app_id)
    if SECRET_KEY in md or APP_TOKEN_KEY in md:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "wrong cluster secret or app token")
    context.abort(grpc.StatusCode.UNAUTHENTICATED,
                  "no cluster secret presented: pass --secret-file or set YARNFLOW_SECRET")


def authorize(context, caller, app_id):
    """Abort with PERMISSION_DENIED unless ``caller`` may act for ``app_id``."""
    if not caller.may_act_for(app_id):
        context.abort(grpc.StatusCode.PERMISSION_DENIED,
                      f"the token of {caller.app_id} does not open {app_id}")
