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
