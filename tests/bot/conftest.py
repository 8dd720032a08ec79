from tests.bot.process import open_repo  # noqa: F401  (a fixture for the subprocess tests)
