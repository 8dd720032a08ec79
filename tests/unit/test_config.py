from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from bot.config import ConfigError, load_settings, parse_settings
from bot.main.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_match_the_interface():
    settings = parse_settings({}, env={})
    assert settings.telegram.base_url == "https://api.telegram.org/bot"
    assert settings.telegram.base_file_url == "https://api.telegram.org/file/bot"
    assert settings.providers.picwish.base_url == "https://techsz.aoscdn.com/api/tasks/visual/external"
    assert settings.network.allow_private_addresses is False
    assert settings.providers.picwish.prices.model_dump() == {
        "base": 6,
        "outfit": 15,
        "beauty": 8,
        "layout": 5,
        "preview": 0,
        "gradient": 0,
        "sharpen": 0,
        "thin_face": 0,
        "sheet_vertical": 0,
        "sheet_white": 0,
        "custom_size": 0,
    }


def test_environment_references_and_token_override():
    raw = {
        "telegram": {"token": "${TOKEN_A}"},
        "server": {"port": "${PORT}", "public_url": "${URL:-}"},
        "providers": {"picwish": {"enabled": True, "api_key": "key-${SUFFIX:-x}"}},
    }
    settings = parse_settings(raw, env={"TOKEN_A": "from-yaml", "PORT": "9000", "SUFFIX": "42"})
    assert settings.telegram.token == "from-yaml"
    assert settings.server.port == 9000 and settings.server.public_url == ""
    assert settings.providers.picwish.api_key == "key-42"
    overridden = parse_settings(raw, env={"TOKEN_A": "a", "PORT": "1", "TELEGRAM_BOT_TOKEN": "from-env"})
    assert overridden.telegram.token == "from-env"


def test_the_shipped_config_takes_the_admins_from_the_environment():
    """Docker and compose users run the image's config.example.yaml: admin_ids was a plain [] there."""
    example = ROOT / "config.example.yaml"
    assert load_settings(example, env={"PHOTOBOT_ADMIN_IDS": "123456789, 987654321"}).telegram.admin_ids == (
        123456789,
        987654321,
    )
    assert load_settings(example, env={"PHOTOBOT_ADMIN_IDS": "123456789"}).telegram.admin_ids == (123456789,)
    assert load_settings(example, env={}).telegram.admin_ids == ()
    with pytest.raises(ConfigError) as caught:
        load_settings(example, env={"PHOTOBOT_ADMIN_IDS": "123456789;@operator"})
    assert str(caught.value) == (
        "telegram.admin_ids: must be Telegram user ids separated by commas, such as 123456789,987654321"
    )


def test_missing_environment_variable_names_the_key():
    with pytest.raises(ConfigError, match=r"providers.picwish.api_key: environment variable NOPE is not set"):
        parse_settings({"providers": {"picwish": {"api_key": "${NOPE}"}}}, env={})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"server": {"port": "many"}}, "server.port"),
        ({"providers": {"picwish": {"enabled": "perhaps"}}}, "providers.picwish.enabled"),
        ({"providers": {"picwsh": {}}}, "providers.picwsh: unknown key"),
        ({"credits": {"daily_free": -1}}, "credits.daily_free"),
        ({"server": {"public_url": "example.com"}}, "server.public_url"),
        ({"telegram": {"mode": "webhook"}}, "telegram.mode: webhook needs server.public_url"),
        ({"telegram": {"mode": "push"}}, "telegram.mode"),
    ],
)
def test_bad_keys_are_named(raw, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_settings(raw, env={})


@pytest.mark.parametrize(
    "public_url", ["http://photobot.example.com", "https://photobot.example.com:8080", "http://photobot.example:443"]
)
def test_a_webhook_telegram_would_refuse_is_refused_at_load(public_url):
    """Telegram's own servers set a webhook only at https, on port 443, 80, 88 or 8443: such an
    address passed `check`, and `run` then failed with "cannot reach Telegram"."""
    with pytest.raises(ConfigError) as caught:
        parse_settings({"telegram": {"mode": "webhook"}, "server": {"public_url": public_url}}, env={})
    assert str(caught.value) == (
        "server.public_url: Telegram sends webhook updates (telegram.mode: webhook) only to an https:// address"
        " on port 443, 80, 88 or 8443; use such an address, or telegram.mode: polling"
    )


def test_a_webhook_telegram_takes_is_kept():
    for public_url in ("https://bot.example", "https://bot.example:8443/photobot", "https://bot.example:88"):
        raw = {"telegram": {"mode": "webhook"}, "server": {"public_url": public_url}}
        assert parse_settings(raw, env={}).server.public_url == public_url
    # A local Bot API server (github.com/tdlib/telegram-bot-api) takes http, and any port.
    raw = {
        "telegram": {"mode": "webhook", "base_url": "http://127.0.0.1:8081/bot"},
        "server": {"public_url": "http://10.0.0.5:8080"},
    }
    assert parse_settings(raw, env={}).server.public_url == "http://10.0.0.5:8080"


def test_config_path_from_environment(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("credits:\n  daily_free: 7\n")
    assert load_settings(None, env={"PHOTOBOT_CONFIG": str(path)}).credits.daily_free == 7
    with pytest.raises(ConfigError, match="no config file"):
        load_settings(None, env={})


def test_check_reports_services_and_exit_codes(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    good = tmp_path / "good.yaml"
    good.write_text("telegram:\n  token: '1:abc'\nproviders:\n  picwish:\n    enabled: true\n    api_key: k\n")
    assert main(["check", "--config", str(good)]) == 0
    out = capsys.readouterr().out
    assert "picwish: enabled" in out and "idphoto: served by picwish" in out and "qq_anime: disabled" in out

    incomplete = tmp_path / "incomplete.yaml"
    incomplete.write_text("telegram:\n  token: '1:abc'\nproviders:\n  picwish:\n    enabled: true\n")
    assert main(["check", "--config", str(incomplete)]) == 1
    captured = capsys.readouterr()
    assert "providers.picwish.api_key" in captured.err and "idphoto: served by local" in captured.out

    without_local = tmp_path / "without-local.yaml"
    without_local.write_text("telegram:\n  token: '1:abc'\nproviders:\n  local:\n    enabled: false\n")
    assert main(["check", "--config", str(without_local)]) == 0
    assert "idphoto: not available" in capsys.readouterr().out

    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: many\n")
    assert main(["check", "--config", str(bad)]) == 1  # a problem like any other (README); 2: no file to read
    assert "server.port" in capsys.readouterr().err
    assert main(["check", "--config", str(tmp_path / "missing.yaml")]) == 2


def test_shipped_example_config_is_valid_with_only_a_token():
    env = {"TELEGRAM_BOT_TOKEN": "1:abc", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--config", str(ROOT / "config.example.yaml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "config OK" in result.stdout


def _config_with_wrong_token(tmp_path, telegram):
    config = tmp_path / "c.yaml"
    config.write_text(
        f"telegram:\n  token: '1:wrong'\n  base_url: {telegram.base_url}\n"
        f"database:\n  path: {tmp_path / 'db.sqlite3'}\nserver:\n  port: 0\n  host: 127.0.0.1\n"
    )
    return config


async def test_run_reports_a_refused_token_without_a_traceback(tmp_path, telegram):
    import asyncio

    config = _config_with_wrong_token(tmp_path, telegram)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert "Telegram refused this bot token" in err.decode()
    assert "Traceback" not in err.decode()


def test_check_names_what_each_provider_is_missing(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(
        "telegram:\n  token: '1:abc'\n"
        "providers:\n"
        "  magictiger:\n    api_token: t\n"
        "  wanxing:\n    app_code: c\n"
        "  hili:\n    third_code: x\n"
        "  qq_anime:\n    enabled: true\n"
    )
    assert main(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "qq_anime: enabled" in out and "anime: served by qq_anime" in out
    assert "hili: disabled (set secret_key)" in out
    assert "magictiger: disabled (set base_url, enhance_types, task_status.done, task_status.failed)" in out
    assert "wanxing: disabled (set templates)" in out
    assert "idphoto: served by local" in out
    for service in ("portrait", "repair", "enhance"):
        assert f"{service}: not available" in out

    config.write_text(
        "telegram:\n  token: '1:abc'\n"
        "providers:\n  wanxing:\n    app_code: c\n    templates: [{id: a, title: A, image: 'https://x/a.jpg'}]\n"
    )
    assert main(["check", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    assert "server.public_url: required by providers.wanxing" in captured.err


def test_check_names_a_portrait_template_file_it_cannot_use(tmp_path, capsys):
    """``run`` leaves such a template out (with none left, AI portraits are unavailable): the
    operator learns it from ``check``, not from a log line at start."""
    good, broken = tmp_path / "good.jpg", tmp_path / "broken.jpg"
    Image.new("RGB", (900, 1200), "#334455").save(good)
    broken.write_bytes(b"not a picture")
    config = tmp_path / "c.yaml"
    config.write_text(
        "telegram:\n  token: '1:abc'\nserver:\n  public_url: https://bot.example.com\n"
        "providers:\n  wanxing:\n    app_code: c\n    templates:\n"
        f"      - {{id: good, title: Good, image: '{good}'}}\n"
        f"      - {{id: broken, title: Broken, image: '{broken}'}}\n"
        f"      - {{id: missing, title: Missing, image: '{tmp_path / 'missing.jpg'}'}}\n"
        "      - {id: remote, title: Remote, image: 'https://x/a.jpg'}\n"
    )
    assert main(["check", "--config", str(config)]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert [line.split(":")[1:3] for line in errors] == [
        [" providers.wanxing.templates", " portrait template broken"],
        [" providers.wanxing.templates", " portrait template missing"],
    ]


def test_check_warns_about_plain_http(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(
        "telegram:\n  token: '1:abc'\nserver:\n  public_url: http://bot.example.com\n"
        "providers:\n  hili:\n    third_code: x\n    secret_key: y\n"
        "  picwish:\n    api_key: k\n    base_url: https://techsz.aoscdn.com/api\n"
    )
    assert main(["check", "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert "warning: server.public_url: plain http://" in err
    assert "warning: providers.hili.base_url: plain http://" in err
    assert "picwish" not in err


def test_a_short_media_secret_is_refused():
    with pytest.raises(ConfigError, match=r"server\.media_secret: .*at least 32 characters"):
        parse_settings({"server": {"media_secret": "short"}}, env={})
    assert parse_settings({"server": {"media_secret": "x" * 32}}, env={}).server.media_secret == "x" * 32


@pytest.mark.parametrize(
    ("providers", "deadline"),
    [
        (
            {
                "magictiger": {
                    "api_token": "t",
                    "base_url": "http://x",
                    "enhance_types": [{"id": "e", "title": "E", "type": 1}],
                    "task_status": {"done": [2], "failed": [3]},
                }
            },
            "1800",
        ),
        (
            {
                "wanxing": {
                    "app_code": "c",
                    "timeout": 3600,
                    "templates": [{"id": "t", "title": "T", "image": "https://x/t.jpg"}],
                }
            },
            "3660",
        ),
    ],
)
def test_a_link_cap_shorter_than_a_fetching_providers_jobs_is_refused(providers, deadline):
    raw = {"server": {"public_url": "https://bot.example", "media_link_ttl": 900}, "providers": providers}
    with pytest.raises(ConfigError, match=rf"server\.media_link_ttl: 900 s is shorter than .*\({deadline} s\)"):
        parse_settings(raw, env={})
    raw["server"]["media_link_ttl"] = int(deadline)
    assert parse_settings(raw, env={}).server.media_link_ttl == int(deadline)
    del raw["server"]["media_link_ttl"]  # the default: links live until their job's deadline
    assert parse_settings(raw, env={}).server.media_link_ttl == 0


def test_derived_webhook_secrets_differ_and_are_redacted():
    settings = parse_settings({"telegram": {"token": "1:abc"}}, env={})
    header, path = settings.webhook_header_secret(), settings.webhook_path_secret()
    assert header != path and "1:abc" not in header + path
    assert {header, path} <= set(settings.secrets())


def test_a_short_webhook_secret_is_refused():
    """The webhook's path secret is derived from it: a guessable one lets anyone post updates."""
    with pytest.raises(ConfigError, match=r"telegram\.webhook_secret: must be at least 32 characters"):
        parse_settings({"telegram": {"webhook_secret": "a"}}, env={})
    secret = "w" * 32
    assert parse_settings({"telegram": {"webhook_secret": secret}}, env={}).telegram.webhook_secret == secret
    assert parse_settings({}, env={}).telegram.webhook_secret == ""  # derived from the token


def test_the_metrics_token_and_the_database_password_are_redacted_in_logs():
    import logging

    from bot.ops.logs import RedactSecrets

    token = "m" * 32
    settings = parse_settings(
        {
            "server": {"metrics_token": token},
            "database": {"url": "postgresql://photobot:pass%2Fword-42@db.example:5432/photobot"},
            "providers": {"qq_anime": {"proxy": "http://me:pw@proxy.example:3128"}},
        },
        env={},
    )
    redact = RedactSecrets(settings.secrets())
    message = (
        f"scraped with Bearer {token}; connecting to {settings.database.url} (password pass/word-42),"
        " then postgres://other:short@10.0.0.1/x and the proxy http://me:pw@proxy.example:3128"
    )
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "%s", (message,), None)
    try:
        raise ConnectionError(f"cannot reach {settings.database.url}")
    except ConnectionError:
        record.exc_info = sys.exc_info()
    assert redact.filter(record)
    assert record.getMessage() == (
        "scraped with Bearer [redacted]; connecting to postgresql://photobot:[redacted]@db.example:5432/photobot"
        " (password [redacted]), then postgres://other:[redacted]@10.0.0.1/x and the proxy"
        " http://me:[redacted]@proxy.example:3128"
    )
    assert "pass%2Fword-42" not in record.exc_text and "photobot:[redacted]@db.example" in record.exc_text


def test_run_warns_about_plain_http_in_its_log(tmp_path):
    """Not only `check`: an operator who never runs it sees it in the bot's log."""
    from tests.fakes.server import free_port

    nobody = f"http://127.0.0.1:{free_port()}"  # Telegram cannot be reached: run stops after starting
    config = tmp_path / "config.yaml"
    config.write_text(
        f"telegram: {{token: '123456:abc', base_url: '{nobody}/bot', base_file_url: '{nobody}/file/bot'}}\n"
        f"server: {{host: 127.0.0.1, port: {free_port()}}}\n"
        f"database: {{path: '{tmp_path / 'db.sqlite3'}'}}\n"
        "providers: {hili: {third_code: x, secret_key: y}, local: {enabled: false}}\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert (
        " WARNING bot.main.cli.server: providers.hili.base_url: plain http:// (photos, keys and signed links travel"
        " unencrypted); use https://\n" in run.stderr
    )


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"telegram": {"base_url": "api.telegram.org/bot"}}, "telegram.base_url"),
        ({"telegram": {"base_file_url": "ftp://api.telegram.org/file/bot"}}, "telegram.base_file_url"),
        ({"telegram": {"base_url": ""}}, "telegram.base_url"),
        ({"server": {"public_url": "https://"}}, "server.public_url"),
        ({"providers": {"picwish": {"base_url": "techsz.aoscdn.com/api"}}}, "providers.picwish.base_url"),
        ({"providers": {"hili": {"base_url": "http://sdk photo.example"}}}, "providers.hili.base_url"),
        ({"providers": {"magictiger": {"base_url": "https://mt.example:http/api"}}}, "providers.magictiger.base_url"),
        ({"providers": {"wanxing": {"base_url": "swapface-api.segapi.com"}}}, "providers.wanxing.base_url"),
        ({"providers": {"qq_anime": {"url": "/trpc.shadow_cv"}}}, "providers.qq_anime.url"),
        ({"providers": {"qq_anime": {"proxy": "me:secret-pw@proxy.example:3128"}}}, "providers.qq_anime.proxy"),
    ],
)
def test_a_url_setting_without_its_scheme_or_host_is_refused_at_load(raw, key):
    """Taken before, it failed only at start (`check` said config OK), in the HTTP client, whose
    error quoted the whole URL: for telegram.base_url, the bot token with it."""
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, env={})
    assert (
        str(caught.value).startswith(f"{key}: must be an http:// or https:// URL with a host name")
        or str(caught.value) == f"{key}: has a port that is not a number from 0 to 65535"
    )
    assert "secret-pw" not in str(caught.value)


def test_url_settings_that_are_fine_are_kept():
    raw = {
        "telegram": {"base_url": "http://127.0.0.1:8081/bot", "base_file_url": "https://tg.example/file/bot"},
        "providers": {"qq_anime": {"proxy": "http://me:pw@proxy.example:3128"}, "magictiger": {"base_url": ""}},
    }
    settings = parse_settings(raw, env={})
    assert settings.telegram.base_url == "http://127.0.0.1:8081/bot"
    assert settings.providers.qq_anime.proxy == "http://me:pw@proxy.example:3128"


def test_a_wanxing_deadline_shorter_than_its_timeout_is_refused():
    """玩星 may finish a task until its ``timeout`` and charge for it: a job refunded earlier would
    throw away a result that is paid for."""
    wanxing = {"app_code": "c", "timeout": 600, "templates": [{"id": "t", "title": "T", "image": "https://x/t.jpg"}]}
    raw = {"server": {"public_url": "https://bot.example"}, "providers": {"wanxing": {**wanxing, "deadline": 599}}}
    with pytest.raises(ConfigError, match=r"providers\.wanxing: deadline \(599 s\) is shorter than timeout \(600 s\)"):
        parse_settings(raw, env={})
    raw["providers"]["wanxing"]["deadline"] = 600
    assert parse_settings(raw, env={}).providers.wanxing.job_deadline == 600
    del raw["providers"]["wanxing"]["deadline"]
    assert parse_settings(raw, env={}).providers.wanxing.job_deadline == 660


def test_a_ca_file_that_cannot_be_used_is_refused_at_load(tmp_path, test_ca):
    """network.ca_file is read when the config loads: a wrong path stops `check`, not the first order."""
    from tests.fakes.tls import ca_file

    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigError, match=rf"network\.ca_file: cannot read {re.escape(str(missing))}: No such file"):
        parse_settings({"network": {"ca_file": str(missing)}}, env={})
    not_pem = tmp_path / "key.txt"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=rf"network\.ca_file: {re.escape(str(not_pem))} holds no PEM CA certificate"):
        parse_settings({"network": {"ca_file": str(not_pem)}}, env={})
    good = str(ca_file(test_ca, tmp_path))
    assert parse_settings({"network": {"ca_file": good}}, env={}).network.ca_file == good
    assert parse_settings({}, env={}).network.ca_file == ""
