from tests.bot.process import open_repos  # noqa: F401  (a fixture for the subprocess tests)
