from pathlib import Path

import pytest

from worker.config import ConfigError, load_config


def test_precedence_file_env_flags(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("kafka:\n  topic: from-file\n  group_id: g\nstore: sqlite:///x.db\n"
                        "teams:\n  acme/infra: platform\n")
    cfg = load_config(str(cfg_file), env={"TFPULSE_KAFKA_GROUP_ID": "from-env"},
                      overrides={"store": "postgresql://db/x"})
    assert cfg.kafka_topic == "from-file" and cfg.kafka_group_id == "from-env"
    assert cfg.store == "postgresql://db/x" and cfg.teams == {"acme/infra": "platform"}
    assert cfg.dlq_topic == "from-file.dlq"


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("store: sqlite:///x.db\nkafka:\n  topic: t\n  bootstrap: x\n")
    with pytest.raises(ConfigError, match=rf"{cfg_file}:4: unknown key 'kafka_bootstrap'"):
        load_config(str(cfg_file), env={})


def test_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="kafka_max_poll_records must be int"):
        load_config(None, env={"TFPULSE_KAFKA_MAX_POLL_RECORDS": "many"})


def test_security_settings_pass_through() -> None:
    cfg = load_config(None, env={"TFPULSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                                 "TFPULSE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                                 "TFPULSE_KAFKA_SASL_PLAIN_USERNAME": "u"})
    assert cfg.kafka_security() == {"security_protocol": "SASL_SSL",
                                    "sasl_mechanism": "SCRAM-SHA-512",
                                    "sasl_plain_username": "u"}


# -- the keys are documented once, in worker/config.py ------------------------------------


def test_every_key_has_a_section_and_help() -> None:
    from worker.config import KEYS, SECTIONS

    order = [f.metadata["section"] for f in KEYS.values()]
    grouped = [s for i, s in enumerate(order) if i == 0 or order[i - 1] is not s]
    assert grouped == list(SECTIONS), "keep each section's keys together, in SECTIONS order"
    for name, f in KEYS.items():
        assert f.metadata["help"].strip(), f"{name}: no help text in worker/config.py"


def test_docs_keys_table_is_generated_from_the_code() -> None:
    from worker.config import DOCS, REGENERATE, render_docs

    text = DOCS.read_text()
    assert render_docs(text) == text, (
        f"{DOCS.name}: the keys table is out of date with worker/config.py; "
        f"regenerate it with `{REGENERATE}`")


def test_write_docs_rewrites_only_between_the_markers(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from worker.config import DOCS_BEGIN, DOCS_END, REGENERATE, main, markdown_table

    doc = tmp_path / "configuration.md"
    doc.write_text(f"# prose\n\n{DOCS_BEGIN}\n| stale |\n{DOCS_END}\n\nmore prose\n")
    assert main(["--check-docs", str(doc)]) == 1
    assert REGENERATE in capsys.readouterr().err
    assert main(["--write-docs", str(doc)]) == 0
    assert doc.read_text() == (f"# prose\n\n{DOCS_BEGIN}\n{markdown_table()}\n{DOCS_END}\n\n"
                               "more prose\n")
    assert main(["--check-docs", str(doc)]) == 0
    doc.write_text("no markers\n")
    assert main(["--write-docs", str(doc)]) == 2 and doc.read_text() == "no markers\n"


def test_run_help_lists_every_key(capsys: pytest.CaptureFixture[str]) -> None:
    from worker.cli.main import build_parser
    from worker.config import DEFAULTS, KEYS, env_var, show_default

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["run", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "_MISSING_TYPE" not in out and "object at 0x" not in out
    for name, f in KEYS.items():
        assert f"  {name}: {f.type} = {show_default(name)}" in out, name
        env = env_var(name)
        assert (f"${env}" if env else "(config file only)") in out, name
    assert show_default("teams") == show_default("aliases") == "{}"
    assert show_default("kafka_topic") == f'"{DEFAULTS.kafka_topic}"'


def test_environment_variables_of_the_keys() -> None:
    from worker.config import env_var

    assert env_var("kafka_topic") == "TFPULSE_KAFKA_TOPIC"
    assert env_var("teams") is None and env_var("aliases") is None
    assert env_var("kb") == "TFPULSE_KB"
    cfg = load_config(None, env={"TFPULSE_TEAMS": "x", "TFPULSE_KB": "/elsewhere"})
    assert cfg.teams == {} and cfg.kb == ""


def test_defaults_are_written_once() -> None:
    from worker.cli import common
    from worker.cli.main import build_parser
    from worker.config import DEFAULTS
    from worker.store import store

    assert common.DEFAULT_STORE == store.DEFAULT_URL == DEFAULTS.store
    produce = build_parser().parse_args(["produce", "x.jsonl"])
    assert produce.bootstrap_servers == DEFAULTS.kafka_bootstrap_servers
    assert produce.topic == DEFAULTS.kafka_topic


def test_the_docs_example_file_loads(tmp_path: Path) -> None:
    from worker.config import DOCS

    text = DOCS.read_text()
    block = text.split("    # tfpulse.yaml\n", 1)[1].split("\n\n", 1)[0]
    example = tmp_path / "tfpulse.yaml"
    example.write_text("\n".join(line[4:] for line in block.splitlines()) + "\n")
    cfg = load_config(str(example), env={})
    assert cfg.kafka_security_protocol == "SASL_SSL" and cfg.teams["acme/infra-live"]
