"""Unclassified templates group one failure across resource names, and keep product names."""

from worker.core.template import template_of
from worker.knowledge.loader import load_masks

MASKS = load_masks()


def template(line: str) -> str:
    return template_of((line,), MASKS)[0]


def test_resource_names_in_parentheses_and_quotes_are_masked() -> None:
    api = "Error: updating Lambda Function (api) configuration: ResourceConflictException: busy"
    primary = api.replace("(api)", "(primary-eu_1)")
    assert template(api) == template(primary)
    assert "(<name>)" in template(api)
    assert template("Error: bucket 'acme-logs' not found") == template("Error: bucket 'b2' not found")


def test_numbers_inside_names_are_kept() -> None:
    assert "Route 53" in template("Error: creating Route 53 Record: InvalidChangeBatch: exists")
    assert "Error 403" in template("Error: googleapi: Error 403: denied")
    assert template("Error: Unsupported attribute on main.tf line 12, in output") \
        == "Error: Unsupported attribute on main.tf line <n>, in output"
    assert "(known after apply)" in template("Error: value (known after apply) is unknown")
