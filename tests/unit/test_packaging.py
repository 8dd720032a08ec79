"""The interface operators and CI rely on: README commands, .ci/run, the Dockerfile."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    test_block = readme.split("## Tests", 1)[1]
    command = re.search(r"```sh\n(.+?)\n```", test_block, flags=re.S).group(1).strip()
    assert command in (ROOT / ".ci" / "run").read_text()


def test_the_compose_file_is_the_one_docs_deploy_shows_and_fits_the_config():
    """docs/deploy.md shows docker-compose.yml whole; every variable the services set is one the
    image's config (config.example.yaml) reads, and the roles are the bot's."""
    import yaml

    from bot.roles import ROLES

    compose_text = (ROOT / "docker-compose.yml").read_text()
    doc = (ROOT / "docs" / "deploy.md").read_text()
    assert f"```yaml\n{compose_text}```" in doc
    compose = yaml.safe_load(compose_text)
    config = (ROOT / "config.example.yaml").read_text()
    for name in ("bot", "worker"):
        service = compose["services"][name]
        assert service["command"][:4] == ["photobot", "run", "--role", name] and name in ROLES
        for variable in service["environment"]:
            assert "${" + variable in config, variable
        assert service["volumes"] == [f"media:{service['environment']['PHOTOBOT_MEDIA_DIR']}"]
    assert "PHOTOBOT_DATABASE_URL" in compose["services"]["worker"]["environment"]


def _package_data() -> dict[str, list[str]]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return pyproject["tool"]["setuptools"]["package-data"]


def test_every_data_file_of_the_code_goes_into_the_wheel():
    """The wheel holds only the .py files and what package-data names: every other file under bot/
    and providers/ (SQL migrations of both backends, texts, catalogs) must be named there, or
    the installed bot cannot find it (pg_migrations was missing: the Docker image failed)."""
    packaged = {
        path
        for package, patterns in _package_data().items()
        for pattern in patterns
        for path in (ROOT / package.replace(".", "/")).glob(pattern)
        if path.is_file()
    }
    data = {
        path
        for top in ("bot", "providers")
        for path in (ROOT / top).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    assert data, "no data files found: the layout changed"
    assert sorted(str(path.relative_to(ROOT)) for path in data - packaged) == []


def test_every_package_the_code_reads_files_from_has_package_data():
    """``resources.files("<package>")`` reads from an installed package: it must have package-data."""
    read_from = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "providers").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "files"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "resources"
            ):
                (argument,) = node.args
                assert isinstance(argument, ast.Constant), f"{path}: resources.files() of a computed name"
                read_from.add(argument.value)
    assert read_from >= {"bot.storage", "bot.telegram.ui.texts", "providers.data"}
    assert read_from <= set(_package_data())


def test_dockerfile_runs_as_non_root_with_a_volume_and_health_check():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[1-9]-slim", dockerfile, flags=re.M)
    assert re.search(r"^USER (?!root)\w+", dockerfile, flags=re.M)
    assert 'VOLUME ["/data"]' in dockerfile and "PHOTOBOT_DB=/data/" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert dockerfile.rstrip().endswith('CMD ["photobot", "run"]')


def test_ci_installs_the_wheel_with_the_dockerfiles_own_line():
    """.ci/wheel builds and installs the wheel exactly as the image does, then runs it; .ci/run runs it."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    script = (ROOT / ".ci" / "wheel").read_text()
    (install,) = [
        line.strip().removeprefix("&& ").removesuffix(" \\") for line in dockerfile.splitlines() if "pip " in line
    ]
    assert install.startswith("pip wheel --no-deps ") and "[local]" in install
    assert install in script.splitlines()
    assert "pip install -e" not in dockerfile
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("&& .ci/wheel")


def test_an_unreachable_telegram_is_a_clear_error_with_its_fix_and_nothing_left_open(tmp_path):
    import subprocess
    import sys

    from tests.fakes.server import free_port

    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = tmp_path / "config.yaml"
    config.write_text(
        f"telegram: {{token: '123456:abc', base_url: '{nobody}/bot', base_file_url: '{nobody}/file/bot'}}\n"
        f"server: {{host: 127.0.0.1, port: {free_port()}}}\n"
        f"database: {{path: '{tmp_path / 'db.sqlite3'}'}}\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    lines = run.stderr.splitlines()
    (error,) = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert lines[error].startswith("error: telegram.base_url: cannot reach Telegram: ")
    assert lines[error + 1].startswith("  fix: check this machine's internet connection")
    assert "Unclosed" not in run.stderr  # the HTTP sessions were closed
