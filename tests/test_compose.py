"""Docker does not run on our machines, so the compose file is checked by reading it."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent


def test_compose_runs_the_production_shape() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {
        "proxy",
        "web",
        "worker",
        "relay",
        "beat",
        "postgres",
        "redis",
        "s3",
        "s3-bucket",
    }
    for name in ("web", "worker", "relay", "beat"):
        env = services[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "refurb_portal.settings.prod"
        assert env["DATABASE_URL"].startswith("postgres://refurb_app:")
        assert env["DATABASE_OWNER_URL"].startswith("postgres://refurb_owner:")
        assert (
            env["TRUSTED_PROXY_ADDRESSES"]
            == (services["proxy"]["networks"]["default"]["ipv4_address"])
        )
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert services[name]["build"] == "."
        # Private files in the compose's own S3 store, in the bucket its one-shot service makes.
        assert env["PRIVATE_STORAGE_S3_BUCKET"] == "refurb-private"
        assert env["PRIVATE_STORAGE_S3_ENDPOINT_URL"] == "http://s3:8333"
        assert services[name]["depends_on"]["s3-bucket"]["condition"] == (
            "service_completed_successfully"
        )
    assert "celery -A refurb_portal worker" in services["worker"]["command"]
    assert "celery -A refurb_portal beat" in services["beat"]["command"]
    relay = shlex.split(services["relay"]["command"])
    assert relay[:2] == ["python", "manage.py"]
    assert relay[2] in get_commands()
    web = services["web"]["command"]
    assert "gunicorn refurb_portal.wsgi:application" in web
    # Every manage.py command the web service runs exists.
    for part in web.split("&&"):
        words = shlex.split(part.replace('sh -c "', "").strip('" \n'))
        if words[:2] == ["python", "manage.py"]:
            assert words[2] in get_commands(), words[2]
    # Only the proxy is published: nobody reaches gunicorn with headers of their own making.
    assert "ports" not in services["web"]
    assert services["proxy"]["ports"] == ["8443:443"]
    assert (ROOT / "deploy" / "Caddyfile").exists()
    assert (ROOT / "refurb_portal" / "wsgi.py").exists()
    assert (ROOT / "Dockerfile").exists()


def test_compose_object_store_serves_s3_with_one_identity() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    s3 = compose["services"]["s3"]
    assert s3["image"].startswith("chrislusf/seaweedfs:")
    assert "-s3" in s3["command"].split()
    assert "-s3.port=8333" in s3["command"].split()
    config_target = s3["configs"][0]["target"]
    assert f"-s3.config={config_target}" in s3["command"].split()
    identities = compose["configs"][s3["configs"][0]["source"]]["content"]
    access_key = compose["services"]["web"]["environment"]["AWS_ACCESS_KEY_ID"]
    assert f'"accessKey": "{access_key}"' in identities
    assert "s3.bucket.create -name refurb-private" in " ".join(
        compose["services"]["s3-bucket"]["command"]
    )
