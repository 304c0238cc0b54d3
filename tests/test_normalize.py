from worker.core.normalize import normalize_line, strip_ansi


def test_github_actions_timestamp_and_frame() -> None:
    line = "2024-03-15T10:00:00.1234567Z │ Error: Error acquiring the state lock"
    assert normalize_line(line) == ("Error: Error acquiring the state lock", "│")


def test_gitlab_section_marker_and_erase_code() -> None:
    line = "section_start:1700000000:step_script\r\x1b[0K\x1b[31;1mError: boom\x1b[0m"
    assert normalize_line(line) == ("Error: boom", None)


def test_gitlab_erase_code_alone() -> None:
    assert normalize_line("\x1b[0K\x1b[32;1m$ terraform plan\x1b[0;m") == ("$ terraform plan", None)


def test_jenkins_prefixes() -> None:
    assert normalize_line("[Pipeline] sh")[0] == "sh"
    assert normalize_line("[2024-03-15T10:00:00.123Z] Error: x")[0] == "Error: x"
    assert normalize_line("10:00:01  ╷")[1] == "╷"


def test_ansi_colours_and_controls_removed() -> None:
    assert strip_ansi("\x1b[1m\x1b[31mError: \x1b[0m\x1b[1mbad\x1b[0m\x07") == "Error: bad"
    assert strip_ansi("a\x00b\x7fc\td") == "abc\td"


def test_osc_hyperlink_removed() -> None:
    assert strip_ansi("\x1b]8;;https://x\x07link\x1b]8;;\x07") == "link"


def test_crlf_and_closing_frame() -> None:
    assert normalize_line("╵\r") == ("", "╵")
    assert normalize_line("│ \r") == ("", "│")


def test_github_workflow_command_prefix() -> None:
    assert normalize_line("##[error]Process completed with exit code 1.")[0] == \
        "Process completed with exit code 1."
