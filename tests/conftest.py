"""Shared fixtures. Real services (Kafka, PostgreSQL) come from their own plugin modules."""

from __future__ import annotations

import pytest

from worker.cache import install_disk_cache
from worker.core.classify import Classifier
from worker.knowledge.entry import KnowledgeBase
from worker.knowledge.loader import default_kb_dir, load_kb

pytest_plugins = ["tests.conftest_kafka", "tests.conftest_postgres"]

install_disk_cache()  # as every command does: compiled databases kept between runs


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_kb(default_kb_dir())


@pytest.fixture(scope="session")
def classifier(kb: KnowledgeBase) -> Classifier:
    return Classifier(kb)
