"""gunicorn settings for the `web` process, shared by `Procfile` and `Procfile.dev` (make run).

Why these values (docs/reliability.md, "Production profile"):

* `gthread` workers with many threads. A client that sends its headers and then stalls
  its body holds one thread, never a whole worker: with the defaults (2 workers x 32
  threads) two dozen stalled connections leave `/healthz`, the admin and authentic
  webhooks plenty of threads, even if every stalled connection lands on one worker.
* A body-read timeout (`WEB_BODY_TIMEOUT`, 10 s): once the headers are in, the socket
  gets a read timeout, so a stalled or trickling body releases its thread after that
  long instead of for ever. (gthread already parks connections that send nothing at
  all in its poller without a thread.)
* Header limits above what any sender needs, so that *Django* sees oversized headers
  and answers them in the SPEC's JSON shape (recorded, like every rejection) instead
  of gunicorn answering an unrecorded HTML 431. The limits still bound memory.

In production a buffering reverse proxy in front (nginx, a cloud load balancer) reads
whole requests before they reach gunicorn; these settings protect `make run` and any
deployment without one.
"""

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = f"{os.environ.get('HOST') or '0.0.0.0'}:{_int('PORT', 8000)}"  # noqa: S104 - a server
worker_class = "gthread"
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("WEB_THREADS", 32)
# Connections a worker takes on; the rest wait in the kernel backlog for a free worker.
worker_connections = _int("WEB_WORKER_CONNECTIONS", 1000)
# Seconds a stalled request body may hold its thread.
body_timeout = float(os.environ.get("WEB_BODY_TIMEOUT") or 10)
keepalive = _int("WEB_KEEPALIVE", 5)
timeout = _int("WEB_TIMEOUT", 30)
graceful_timeout = _int("WEB_GRACEFUL_TIMEOUT", 20)

# Header limits (gunicorn's defaults: 4094-byte request line, 100 fields of 8190 bytes).
limit_request_line = 8190  # gunicorn's maximum
limit_request_fields = _int("WEB_LIMIT_REQUEST_FIELDS", 500)
limit_request_field_size = _int("WEB_LIMIT_REQUEST_FIELD_SIZE", 64 * 1024)

accesslog = os.environ.get("WEB_ACCESS_LOG", "-")
# The access log carries no query strings (they could carry personal data) and no
# referer; the path, status, size and duration are enough to operate.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def pre_request(worker, req):
    """Give the connection a read timeout once its headers are parsed (see above)."""
    sock = getattr(req.unreader, "sock", None)
    if sock is not None and body_timeout > 0:
        sock.settimeout(body_timeout)


def on_starting(server):
    """In the master, once per start: clean this tree's metrics files (monitoring)."""
    from monitoring.gunicorn_hooks import on_starting as metrics_prepare

    metrics_prepare(server)
