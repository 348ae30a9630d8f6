"""Shared pytest settings: the `slow` marker (long tests such as tests/test_soak.py; CI runs them)."""

def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a long test (minutes), e.g. the kill-and-resume soak")
