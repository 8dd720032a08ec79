"""The command line an operator meets first: `photobot specs`, `photobot idphoto` and `photobot check`."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.main.cli import main
from bot.telegram.ui.i18n import t
from tests.conftest import portrait_jpeg

ROOT = Path(__file__).resolve().parents[2]
needs_engine = pytest.mark.skipif(
    not __import__("providers.localengine", fromlist=["available"]).available(),
    reason="the photobot[local] extra is not installed",
)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_specs_lists_every_category_or_the_matches_in_the_chosen_language(capsys):
    code, out, _ = _run(capsys, "specs", "--lang", "en")
    assert code == 0 and out.startswith("Common sizes\n  1101  Small 1 Inch · 22×32 mm · 260×378 px · 300 dpi")
    assert "  3108  USA Visa · 51×51 mm · 602×602 px · 300 dpi · white\n" in out
    assert "9001  Custom Size · a width and height of your choice, 10–179 mm" in out
    code, out, _ = _run(capsys, "specs", "--lang", "zh-Hans", "美国签证")
    assert code == 0
    assert (
        out
        == "“美国签证”找到 1 个规格，按匹配程度排列：\n  3108  美国签证 · 51×51 毫米 · 602×602 像素 · 300 dpi · 白色\n"
    )
    code, out, _ = _run(capsys, "specs", "--lang", "zh-Hans")
    assert out.startswith("常用尺寸\n  1101  小一寸") and "签证与护照\n" in out
    assert "  3116  越南签证 · 35×45 毫米 · 413×531 像素 · 300 dpi · 蓝色、红色、白色\n" in out
    code, _, err = _run(capsys, "specs", "--lang", "en", "xyzzy")
    assert code == 2 and err == "No spec matches “xyzzy”.\n"


def test_the_language_comes_from_the_locale(monkeypatch, capsys):
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out, _ = _run(capsys, "specs", "3108")
    assert code == 0 and "美国签证" in out


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "me.jpg"
    path.write_bytes(portrait_jpeg())
    return path


@needs_engine
def test_idphoto_makes_the_spec_and_reports_its_rule_and_head(capsys, photo, tmp_path):
    out_path = tmp_path / "visa.jpg"
    code, out, err = _run(capsys, "idphoto", str(photo), "--spec", "us visa", "-o", str(out_path), "--lang", "en")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["USA Visa", "51×51 mm · 602×602 px · 300 dpi"]
    assert lines[2].startswith("📏 U.S. Department of State: head ") and "mm of 51 mm (within 25.5–35.2 mm)" in lines[2]
    assert lines[3] == f"Saved {out_path} (602×602 px, 300 dpi)."
    with Image.open(out_path) as img:
        assert img.size == (602, 602) and round(img.info["dpi"][0]) == 300
        assert all(v >= 245 for v in img.convert("RGB").getpixel((2, 2)))  # white, as the spec asks
    # The same advice a chat user gets about this photo's parted lips (a neutral expression is the rule).
    assert "Your lips are apart in this photo" in err


@needs_engine
def test_idphoto_report_prints_the_checklist_of_the_preview(capsys, photo, tmp_path):
    out_path = tmp_path / "visa.jpg"
    argv = ["idphoto", str(photo), "--spec", "3108", "-o", str(out_path), "--report", "--lang", "en"]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:3] == ["USA Visa", "51×51 mm · 602×602 px · 300 dpi", "📏 Checked against U.S. Department of State:"]
    assert lines[3].startswith("✅ Head height ") and lines[3].endswith(" mm (25.5–35.2 mm)")
    assert lines[4].startswith("✅ Eye line ") and "⚠️ Lips apart " in out
    assert lines[-2].startswith("✅ Background cleanly cut out (") and lines[-2].endswith("at most 0.25 %)")
    assert "✅ No glasses seen (" in out and "✅ Light even on both sides of the face: " in out
    assert "✅ Eyes and eyebrows clear of hair (" in out and "✅ No head covering seen (" in out
    assert "✅ No hand at the face" in out
    assert len(lines) == 3 + 16 + 1 and lines[-1] == f"Saved {out_path} (602×602 px, 300 dpi)."
    with Image.open(out_path) as img:
        assert img.size == (602, 602)


@needs_engine
def test_idphoto_json_gives_the_checklist_to_scripts(capsys, photo, tmp_path):
    out_path = tmp_path / "visa.jpg"
    argv = ["idphoto", str(photo), "--spec", "美国签证", "-o", str(out_path), "--json", "--lang", "zh-Hans"]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    report = json.loads(out)
    assert report["spec"] == {"id": 3108, "name": "美国签证", "mm": [51, 51], "dpi": 300}
    assert report["file"] == {"path": str(out_path), "width": 602, "height": 602} and out_path.exists()
    assert (report["rule"], report["official"], report["worst"]) == ("usa", True, "warn")
    items = {item["key"]: item for item in report["checklist"]}
    assert list(items) == [
        "head", "eyes", "roll", "yaw", "pitch", "eyelids", "mouth", "sharpness", "light", "light_sides", "burnt_out",
        "glasses", "hair", "head_covering", "hands", "background"
    ]  # fmt: skip
    head = items["head"]
    assert (head["status"], head["unit"], head["low"], head["high"]) == ("ok", "mm", 25.5, 35.19)
    assert 25.5 <= head["value"] <= 35.19 and head["text"].startswith("✅ 头部高 ")
    assert (items["mouth"]["status"], items["mouth"]["variant"]) == ("warn", "apart")
    assert items["background"]["text"].startswith("✅ 背景抠图干净")
    # A photo the chat would refuse: what and why, on stdout too; nothing written.
    landscape = tmp_path / "coffee.jpg"
    from skimage import data

    Image.fromarray(data.coffee()).save(landscape, "JPEG")
    argv = ["idphoto", str(landscape), "--spec", "3108", "-o", str(tmp_path / "none.jpg"), "--json", "--lang", "en"]
    code, out, err = _run(capsys, *argv)
    assert code == 1 and json.loads(out)["refused"] == "no_face" and not (tmp_path / "none.jpg").exists()
    assert json.loads(out)["message"].startswith("I could not find a face")


@needs_engine
def test_idphoto_custom_size_in_chinese(capsys, photo, tmp_path):
    out_path = tmp_path / "custom.jpg"
    argv = ["idphoto", str(photo), "--spec", "自定义", "--size", "30x40", "--bg", "蓝色", "-o", str(out_path)]
    code, out, err = _run(capsys, *argv, "--lang", "zh-Hans")
    assert code == 0, err
    assert out.splitlines()[:2] == ["自定义尺寸", "30×40 毫米 · 354×472 像素 · 300 dpi"]
    assert "该规格没有已知的官方规则" in out and "照片高 40 毫米" in out
    with Image.open(out_path) as img:
        assert img.size == (354, 472)
        red, _, blue = img.convert("RGB").getpixel((2, 2))
        assert blue > 200 and red < 100  # the catalog's blue, 438EDB


@needs_engine
def test_a_refused_photo_exits_1_with_the_chat_advice_and_writes_nothing(capsys, tmp_path):
    landscape = tmp_path / "coffee.jpg"
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.coffee()).save(buffer, "JPEG")
    landscape.write_bytes(buffer.getvalue())
    out_path = tmp_path / "none.jpg"
    code, out, err = _run(capsys, "idphoto", str(landscape), "--spec", "3108", "-o", str(out_path), "--lang", "en")
    assert code == 1 and out == "" and not out_path.exists()
    from bot.telegram.ui.i18n import t

    assert err == t("en", "face.no_face") + "\n"


@needs_engine
def test_a_head_too_small_for_the_spec_is_refused_as_in_the_chat(capsys, photo, tmp_path):
    code, _, err = _run(capsys, "idphoto", str(photo), "--spec", "1109", "-o", str(tmp_path / "x.jpg"), "--lang", "en")
    assert code == 1 and err.startswith("Your head is too small in this photo for 5 Inch (1051×1500 px)")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--spec", "火星签证"], "No spec matches “火星签证”. Find one with `photobot specs WORDS`."),
        (["--spec", "3108", "--bg", "blue"], "USA Visa takes these backgrounds only: white."),
        (["--spec", "3108", "--bg", "pink"], "“pink” is not a colour"),
        (["--spec", "custom"], "Custom Size needs its size: add `--size WIDTHxHEIGHT`"),
        (["--spec", "custom", "--size", "200x40"], "200×40 mm cannot be made: each side must be 10–179 mm"),
        (["--spec", "3108", "--size", "30x40"], "USA Visa has its own size (51×51 mm)"),
    ],
)
def test_what_cannot_be_asked_for_exits_2_before_the_engine_starts(capsys, photo, tmp_path, argv, message):
    code, out, err = _run(capsys, "idphoto", str(photo), *argv, "-o", str(tmp_path / "x.jpg"), "--lang", "en")
    assert code == 2 and out == "" and err.startswith(message)


@needs_engine
def test_an_unreadable_or_broken_file(capsys, tmp_path):
    code, _, err = _run(
        capsys, "idphoto", str(tmp_path / "missing.jpg"), "--spec", "3108", "-o", "x.jpg", "--lang", "en"
    )
    assert code == 2 and err.startswith(f"Cannot read {tmp_path / 'missing.jpg'}: No such file or directory")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture at all")
    code, _, err = _run(capsys, "idphoto", str(broken), "--spec", "3108", "-o", "x.jpg", "--lang", "en")
    from bot.telegram.ui.i18n import t

    assert code == 1 and err == t("en", "input.not_an_image") + "\n"


def test_check_prints_each_error_on_its_own_line_with_its_fix(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = tmp_path / "c.yaml"
    config.write_text("providers:\n  picwish:\n    enabled: true\n")
    code, out, err = _run(capsys, "check", "--config", str(config))
    assert code == 1 and out.endswith("enhance: not available\ndatabase: SQLite at data/photobot.sqlite3\n")
    assert err.splitlines() == [
        "error: telegram.token: not set",
        "  fix: talk to @BotFather in Telegram (/newbot) for a bot token, then set TELEGRAM_BOT_TOKEN=<token> in"
        " the environment or telegram.token in the config",
        "error: providers.picwish.api_key: required when providers.picwish.enabled is true",
        "  fix: set providers.picwish.api_key (see config.example.yaml), or turn the provider off:"
        " providers.picwish.enabled: false",
    ]
    config.write_text("telegram:\n  tokn: x\ncredits:\n  daily_free: -1\n")
    code, out, err = _run(capsys, "check", "--config", str(config))
    assert code == 1 and out == ""  # README: 1 for problems, 2 only when the file cannot be read
    assert err.splitlines() == [
        "error: telegram.tokn: unknown key",
        "  fix: check its spelling against config.example.yaml, or remove it",
        "error: credits.daily_free: Input should be greater than or equal to 0",
        "  fix: see daily_free in config.example.yaml for what it takes",
    ]
    code, _, err = _run(capsys, "check", "--config", str(tmp_path / "missing.yaml"))
    assert (
        code == 2
        and err.splitlines()[1] == "  fix: copy config.example.yaml, then run: photobot check --config config.yaml"
    )


def test_check_names_a_telegram_url_without_its_scheme(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = tmp_path / "c.yaml"
    config.write_text("telegram:\n  token: '123456:TEST-fake'\n  base_url: api.telegram.org/bot\n")
    code, out, err = _run(capsys, "check", "--config", str(config))
    assert code != 0 and "config OK" not in out
    assert err.splitlines()[0] == (
        "error: telegram.base_url: must be an http:// or https:// URL with a host name, such as https://example.com/path"
    )


@contextlib.contextmanager
def _nonsense_server() -> Iterator[int]:
    """A "Bot API server" that answers every request with bytes that are not HTTP: aiohttp's error
    then quotes the request's URL, and a Bot API URL holds the bot token."""

    class Nonsense(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(65536)
            self.request.sendall(b"NOT HTTP AT ALL\r\n\r\n")

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Nonsense) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()


def test_run_keeps_the_bot_token_out_of_its_error_when_telegram_cannot_be_reached(tmp_path):
    """`run` printed the transport's error to stderr as it was, past the log's redaction: aiohttp's
    error quotes the request URL, with the bot token in it."""
    from tests.fakes.server import free_port

    token = "123456:TEST-token-for-a-bot-that-is-not-there"
    with _nonsense_server() as port:
        config = tmp_path / "config.yaml"
        config.write_text(
            f"telegram: {{token: '{token}', base_url: 'http://127.0.0.1:{port}/bot'}}\n"
            f"server: {{host: 127.0.0.1, port: {free_port()}}}\n"
            f"database: {{path: '{tmp_path / 'db.sqlite3'}'}}\n"
            "providers: {local: {enabled: false}}\n"
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
    error = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and error[0].startswith("error: telegram.base_url: cannot reach Telegram: ")
    assert "/bot[redacted]/getMe" in error[0]
    assert token not in run.stderr and token.split(":")[1] not in run.stderr


def test_check_warns_when_payments_are_on_and_nobody_is_an_admin(tmp_path, capsys, monkeypatch):
    """Questions from /paysupport and the operator's alerts go to the admins alone, and only they can /refund."""
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = tmp_path / "c.yaml"
    shop = "payments:\n  packs: [{id: small, credits: 30, stars: 50}]\nproviders:\n  local: {enabled: false}\n"
    config.write_text("telegram:\n  token: '1:abc'\n" + shop)
    code, out, err = _run(capsys, "check", "--config", str(config))
    assert code == 0 and out.endswith("config OK\n")
    assert err.splitlines() == [
        "warning: telegram.admin_ids: empty while payments.packs sells credits: buyers' /paysupport questions and"
        " the operator alerts reach nobody, and nobody can /refund; set PHOTOBOT_ADMIN_IDS (or telegram.admin_ids)"
        " to your Telegram user id"
    ]
    config.write_text("telegram:\n  token: '1:abc'\n  admin_ids: [123456789]\n" + shop)
    code, out, err = _run(capsys, "check", "--config", str(config))
    assert code == 0 and err == ""


def test_a_yaml_syntax_error_is_one_error_naming_the_file_line_and_column(tmp_path, capsys, monkeypatch):
    """PyYAML's text was split into several `error:` lines, each with a nonsense `fix:`, and named
    "<unicode string>" instead of the file."""
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = tmp_path / "c.yaml"
    config.write_text(
        "telegram:\n  token: '1:abc'\nproviders:\n  picwish:\n"
        '    api_key: "sk_live_SuperSecretKey\n    deadline: 300\n'
    )
    code, out, err = _run(capsys, "check", "--config", str(config))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"error: {config} is not valid YAML at line 7, column 1: found unexpected end of stream"
        " (while scanning a quoted scalar at line 5, column 14)",
        "  fix: correct the YAML there (an unclosed quote, a tab, or a key indented differently from its neighbours)",
    ]
    assert "sk_live" not in err  # the line itself is not quoted


def test_the_installed_command_runs(tmp_path):
    """The entry point an operator types (python -m bot runs the same console script, ``run``)."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "specs", "--lang", "en", "35x45"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.splitlines()[1].startswith("  1104  Small 2 Inch")


def test_check_reaches_the_postgresql_database(tmp_path, capsys, monkeypatch):
    import asyncio

    from tests.conftest import postgres_schema

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = tmp_path / "c.yaml"
    config.write_text("telegram:\n  token: '1:abc'\ndatabase:\n  url: postgresql://photobot@127.0.0.1:1/none\n")
    code, _, err = _run(capsys, "check", "--config", str(config))
    assert code == 1 and err.splitlines()[0].startswith("error: database.url: cannot connect: ")
    assert err.splitlines()[1].startswith("  fix: check the host, port, database name, user and password")
    url = asyncio.run(postgres_schema())
    config.write_text(f"telegram:\n  token: '1:abc'\ndatabase:\n  url: '{url}'\n")
    code, out, _ = _run(capsys, "check", "--config", str(config))
    assert code == 0 and "database: PostgreSQL, reachable, schema up to date\n" in out
    assert out.endswith("config OK\n")


def test_check_refuses_a_postgresql_schema_newer_than_the_code(tmp_path, capsys, monkeypatch):
    """`check` said "schema up to date" of a database a newer photobot had migrated."""
    import asyncio

    import asyncpg

    from tests.conftest import postgres_schema

    async def migrated_further() -> tuple[str, int]:
        url = await postgres_schema()
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            await conn.execute("INSERT INTO schema_version (version) VALUES (1000)")
        finally:
            await conn.close()
        return url, 1000

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    url, found = asyncio.run(migrated_further())
    config = tmp_path / "c.yaml"
    config.write_text(f"telegram:\n  token: '1:abc'\ndatabase:\n  url: '{url}'\n")
    code, out, err = _run(capsys, "check", "--config", str(config))
    assert code == 1 and "schema up to date" not in out
    error, fix = err.splitlines()
    assert error.startswith(f"error: database.url: the database's schema is at version {found}, newer than this")
    assert fix.startswith("  fix: run the photobot release that migrated the database (or a newer one)")


def test_bot_and_worker_roles_need_postgresql(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = tmp_path / "c.yaml"
    config.write_text(f"telegram:\n  token: '1:abc'\ndatabase:\n  path: {tmp_path / 'db.sqlite3'}\n")
    code, _, err = _run(capsys, "run", "--config", str(config), "--role", "worker")
    assert code == 1 and err.splitlines() == [
        "error: --role worker: needs database.url (PostgreSQL); SQLite serves one process only",
        "  fix: set database.url to the PostgreSQL server every process shares (docs/deploy.md), or run --role all",
    ]
    assert not (tmp_path / "db.sqlite3").exists()
    with pytest.raises(SystemExit):
        main(["run", "--role", "poller"])


def _idphoto_in_a_process(
    path: Path, tmp_path: Path, timeout: float = 30, **options: Any
) -> subprocess.CompletedProcess[str]:
    """``photobot idphoto`` in a process of its own, killed if it does not end: a read that
    never ends (a FIFO, /dev/zero) must fail the test, not hang it. ``options`` go to
    subprocess.run (an environment, a limit set in the child)."""
    argv = ["idphoto", str(path), "--spec", "3108", "-o", str(tmp_path / "x.jpg"), "--lang", "en"]
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        **options,
    )


@needs_engine
def test_a_fifo_or_a_device_is_refused_without_reading_it(tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)  # nobody writes: reading it would wait for ever
    run = _idphoto_in_a_process(fifo, tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == f"{fifo} is not a photo file but a FIFO (named pipe): give the path of a regular file.\n"
    zeros = tmp_path / "zeros.jpg"
    zeros.symlink_to("/dev/zero")  # endless: reading it all grew to gigabytes
    run = _idphoto_in_a_process(zeros, tmp_path)
    assert run.returncode == 2
    assert run.stderr == f"{zeros} is not a photo file but a device: give the path of a regular file.\n"
    assert not (tmp_path / "x.jpg").exists()


@needs_engine
def test_a_photo_refused_at_once_ends_its_process_cleanly(tmp_path):
    """The cut-out models' sessions are still being built in a thread when a file that is not a
    photo, or a photo without a face, is refused: ending the process then made onnxruntime abort it
    (status 134, "terminate called without an active exception")."""
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    run = _idphoto_in_a_process(text, tmp_path)
    assert (run.returncode, run.stdout, run.stderr) == (1, "", t("en", "input.not_an_image") + "\n")
    blank = tmp_path / "wall.jpg"
    Image.new("RGB", (800, 1000), (200, 180, 160)).save(blank)
    run = _idphoto_in_a_process(blank, tmp_path)
    assert (run.returncode, run.stdout, run.stderr) == (1, "", t("en", "face.no_face") + "\n")


@needs_engine
def test_a_directory_is_refused_and_a_symlink_to_a_photo_is_read(capsys, photo, tmp_path):
    code, _, err = _run(capsys, "idphoto", str(tmp_path), "--spec", "3108", "-o", "x.jpg", "--lang", "zh-Hans")
    assert code == 2 and err == f"{tmp_path} 不是照片文件，而是目录：请给出普通文件的路径。\n"
    link = tmp_path / "link.jpg"
    link.symlink_to(photo)
    out_path = tmp_path / "visa.jpg"
    code, _, _ = _run(capsys, "idphoto", str(link), "--spec", "3108", "-o", str(out_path), "--lang", "en")
    assert code == 0 and out_path.exists()


def test_a_photo_is_read_up_to_one_byte_past_the_limit(tmp_path):
    from bot.main.cli.studio import _read_photo
    from bot.ops.images import MAX_INPUT_BYTES

    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as file:
        file.truncate(4 * 1024**3)  # 4 GB, sparse
    assert len(_read_photo(str(huge))) == MAX_INPUT_BYTES + 1


def test_ctrl_c_in_idphoto_is_one_line_in_the_users_language(capsys, monkeypatch):
    from bot.main.cli import INTERRUPTED, studio

    def stopped(_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(studio, "make", stopped)
    code, out, err = _run(capsys, "idphoto", "photo.jpg", "--spec", "3110", "-o", "id.jpg", "--lang", "zh-Hans")
    assert (code, out, err.strip()) == (INTERRUPTED, "", t("zh-Hans", "cli.interrupted"))


@needs_engine
def test_ctrl_c_while_the_cut_out_models_build_ends_the_process_by_sigint_not_an_abort():
    # Ctrl-C while the models build, with the photo refused at once (an empty file): the builds
    # are joined inside `make`, so the interrupt reaches `main`, and the console script ends the
    # process by SIGINT, as a shell expects of Ctrl-C. In the interpreter's own wait for the builds
    # at exit, a Ctrl-C once led to onnxruntime's abort (status 134). The signal is raised in the
    # joining thread, as a terminal's Ctrl-C reaches the main thread. Python's handler is set first:
    # a test run started in the background (a shell's `&`) ignores SIGINT, Python then sets none,
    # and the process went on as if nothing had come (the test failed in such a CI run).
    script = (
        "import signal, sys, threading\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from bot.main import cli\n"
        "from bot.main.cli import studio\n"
        "join = threading.Thread.join\n"
        "def interrupted_join(self, timeout=None):\n"
        "    if self.name == 'build-cutout':\n"
        "        signal.raise_signal(signal.SIGINT)\n"
        "    return join(self, timeout)\n"
        "threading.Thread.join = interrupted_join\n"
        "sys.argv = ['photobot', 'idphoto', sys.argv[1], '--spec', '3110', '-o', sys.argv[1], '--lang', 'en']\n"
        "cli.run()\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        empty = Path(folder) / "empty.jpg"
        empty.write_bytes(b"")
        done = subprocess.run(
            [sys.executable, "-c", script, str(empty)], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == -signal.SIGINT, done.stderr
    assert t("en", "cli.interrupted") in done.stderr
    assert "Traceback" not in done.stderr and "terminate called" not in done.stderr


@needs_engine
def test_the_engine_failing_is_one_line_and_exit_3_not_a_traceback(photo, tmp_path):
    """The engine failing (here its memory capped at 0.7 GB of address space: onnxruntime cannot
    build the cut-out's session): one line saying so, and exit 3 apart from a refusal's 1 (before:
    onnxruntime's traceback and exit 1, as if the photo had been refused)."""
    import resource

    cap = int(0.7 * 2**30)
    run = _idphoto_in_a_process(
        photo, tmp_path, timeout=60, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    )
    assert run.returncode == 3, run.stderr
    assert run.stderr.splitlines()[-1].startswith("The local engine failed (") and "Traceback" not in run.stderr


@needs_engine
def test_idphoto_names_a_damaged_model_file(photo, tmp_path):
    """A face model cut short, and a folder where U²-Net should be: the command names both and
    says to run `photobot models` (exit 2), instead of "not installed" or a traceback."""
    from providers.localengine.files import FACE_FILES, U2NET_FILE, U2NETP_FILE, models_dir

    models = tmp_path / "models"
    models.mkdir()
    for name in (*FACE_FILES, U2NETP_FILE):
        (models / name).write_bytes((models_dir() / name).read_bytes())
    (models / FACE_FILES[0]).write_bytes(b"cut")
    (models / U2NET_FILE).mkdir()
    run = _idphoto_in_a_process(photo, tmp_path, timeout=60, env={**os.environ, "PHOTOBOT_MODELS": str(models)})
    assert run.returncode == 2, run.stderr
    assert FACE_FILES[0] in run.stderr and U2NET_FILE in run.stderr and "photobot models" in run.stderr
    assert "Traceback" not in run.stderr
