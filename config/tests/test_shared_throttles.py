"""Throttles in a shared cache: two app processes spend one budget (issue #10, finding 6).

Each process here is a separate Python interpreter with its own Django, as two
gunicorn workers are, pointed by CACHE_URL at the real Redis on
127.0.0.1:6379. Where no Redis answers (a fresh laptop) these tests are
skipped with the reason; CI starts one (.ci/run).
"""

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.db import connection

from config.tests.test_settings import env_example

BASE_DIR = Path(__file__).resolve().parents[2]
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# A database of its own on the machine's Redis; keys are also unique per test (the client's address).
REDIS_DB = 11
RATE = 6

# One app process: Django set up from the environment, then, on "go" from the
# test, `threads` threads (as gunicorn's gthread worker runs) each send `count`
# login attempts from `address` through the whole middleware stack and the
# API's views; prints their status codes.
PROCESS = """
import json, sys, threading
import django
django.setup()
from django.test import Client

address, threads, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
codes = []

def attempts():
    client = Client()
    for _ in range(count):
        response = client.post("/api/v1/auth/token/", {}, content_type="application/json", REMOTE_ADDR=address)
        codes.append(response.status_code)

print("ready", flush=True)
sys.stdin.readline()
running = [threading.Thread(target=attempts) for _ in range(threads)]
for thread in running:
    thread.start()
for thread in running:
    thread.join()
print(json.dumps(codes), flush=True)
"""


def redis_answers() -> str | None:
    """None when Redis answers PING on 127.0.0.1:6379, else why not."""
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as error:
        return f"no Redis on {REDIS_HOST}:{REDIS_PORT} ({error}); start one to run the shared-throttle tests"
    if not reply.startswith(b"+PONG"):
        return f"{REDIS_HOST}:{REDIS_PORT} answered {reply!r} to PING, not +PONG"
    return None


@pytest.fixture
def redis_url():
    reason = redis_answers()
    if reason:
        pytest.skip(reason)
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"


@pytest.fixture
def address():
    """A client address no other run uses, its counters deleted afterwards."""
    address = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
    yield address
    if redis_answers() is None:
        import redis

        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
        for key in client.scan_iter(match=f"*{address}*"):
            client.delete(key)


def process_env(cache_url: str) -> dict[str, str]:
    settings_db = connection.settings_dict
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CACHE_", "THROTTLE_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "test-only-not-secret",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"postgres://{settings_db['USER']}@{settings_db['HOST']}:{settings_db['PORT']}/"
        f"{settings_db['NAME']}",
        "CACHE_URL": cache_url,
        "THROTTLE_AUTH": f"{RATE}/min",
    }


def run_side_by_side(cache_url: str, address: str, *, processes: int, threads: int, count: int) -> list[list[int]]:
    """Start `processes` app processes, let them all fire at once, return each one's status codes."""
    env = process_env(cache_url)
    running = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS, address, str(threads), str(count)],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for process in running:  # every interpreter has set Django up...
            line = process.stdout.readline()
            assert line.strip() == "ready", process.stderr.read()
        for process in running:  # ...then all go at once
            process.stdin.write("go\n")
            process.stdin.flush()
        results = []
        for process in running:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for process in running:
            if process.poll() is None:
                process.kill()


@pytest.mark.slow
@pytest.mark.django_db
def test_two_processes_share_one_budget_in_redis(redis_url, address):
    # given: two app processes, one cache; the `auth` rate is 6 a minute per address
    # when: each sends 10 login attempts from the same address, at the same time
    first, second = run_side_by_side(redis_url, address, processes=2, threads=1, count=10)
    # then: together exactly 6 get through (400: the empty body), all others 429
    codes = first + second
    assert (codes.count(400), codes.count(429)) == (RATE, 20 - RATE), (first, second)


@pytest.mark.slow
@pytest.mark.django_db
def test_requests_arriving_together_do_not_slip_past_the_count(redis_url, address):
    """Four processes of four threads each: no two requests may both count themselves under the rate."""
    results = run_side_by_side(redis_url, address, processes=4, threads=4, count=5)
    codes = [code for codes in results for code in codes]
    assert (codes.count(400), codes.count(429)) == (RATE, 80 - RATE), results


@pytest.mark.slow
@pytest.mark.django_db
def test_with_a_per_process_cache_each_process_counts_alone(address):
    """What a shared cache prevents: locmem gives every process the whole budget."""
    first, second = run_side_by_side("locmemcache://", address, processes=2, threads=1, count=10)
    assert first.count(400) == second.count(400) == RATE


# --- Every multi-process setup shares one cache ----------------------------------------------------


def test_the_production_example_shares_throttle_counters_in_redis():
    assert env_example()["CACHE_URL"].startswith("redis://")


def test_compose_runs_redis_and_points_the_app_s_workers_at_it():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    redis, web = compose["services"]["redis"], compose["services"]["web"]
    assert redis["image"].startswith("redis:")
    assert "healthcheck" in redis
    assert web["environment"]["CACHE_URL"] == "redis://redis:6379/0"
    assert web["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert "--workers 2" in web["command"]  # the reason it needs one cache


def test_the_redis_client_is_pinned():
    requirements = (BASE_DIR / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("redis==") for line in requirements)


def test_a_redis_cache_url_means_django_s_own_redis_cache():
    script = "import django; django.setup(); from django.conf import settings; print(settings.CACHES['default'])"
    env = {**process_env("redis://redis.internal:6379/0"), "DATABASE_URL": "postgres://x@127.0.0.1:5432/x"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "'BACKEND': 'django.core.cache.backends.redis.RedisCache'" in result.stdout
    assert "'LOCATION': 'redis://redis.internal:6379/0'" in result.stdout
