import pytest

from worker.core.blocks import BlockAssembler
from worker.model import JobKey

A = JobKey("acme/infra", "1", 1, "plan")
B = JobKey("acme/infra", "2", 1, "apply")


def feed_all(asm: BlockAssembler, job: JobKey, text: str) -> list:
    out = []
    for line in text.split("\n"):
        out += asm.feed(job, line, 100.0)
    return out


def test_framed_block_closes_at_frame_end() -> None:
    asm = BlockAssembler()
    text = "Plan: 1 to add\n╷\n│ Error: Unsupported argument\n│\n│   on main.tf line 3:\n╵\nnext"
    blocks = feed_all(asm, A, text)
    assert len(blocks) == 1
    assert blocks[0].lines == ("Error: Unsupported argument", "", "on main.tf line 3:")
    assert blocks[0].framed and blocks[0].certain and blocks[0].line == 2


def test_unframed_block_keeps_detail_after_one_blank() -> None:
    asm = BlockAssembler()
    text = ("Error: Error acquiring the state lock\n\nError message: ConditionalCheckFailed\n"
            "Lock Info:\n  ID:        abc\n\n\nunrelated")
    blocks = feed_all(asm, A, text)
    assert len(blocks) == 1
    assert blocks[0].lines[-1] == "ID:        abc"
    assert "Error message: ConditionalCheckFailed" in blocks[0].lines


def test_next_error_starts_a_new_block() -> None:
    asm = BlockAssembler()
    blocks = feed_all(asm, A, "Error: one\nError: two\n")
    blocks += asm.flush_all()
    assert [b.lines[0] for b in blocks] == ["Error: one", "Error: two"]


def test_interleaved_jobs_do_not_mix() -> None:
    asm = BlockAssembler()
    out = []
    out += asm.feed(A, "╷", 1.0)
    out += asm.feed(B, "Error: from B", 1.0)
    out += asm.feed(A, "│ Error: from A", 1.0)
    out += asm.feed(B, "detail B", 1.0)
    out += asm.feed(A, "│ detail A", 1.0)
    out += asm.feed(A, "╵", 1.0)
    out += asm.end_job(B)
    by_job = {b.job: b.lines for b in out}
    assert by_job[A] == ("Error: from A", "detail A")
    assert by_job[B] == ("Error: from B", "detail B")


def test_size_cap_truncates_and_keeps_memory_bounded() -> None:
    asm = BlockAssembler(max_lines=5, max_bytes=1000)
    lines = ["Error: huge"] + [f"detail {i}" for i in range(10_000)]
    blocks = feed_all(asm, A, "\n".join(lines)) + asm.flush_all()
    assert len(blocks) == 1
    assert len(blocks[0].lines) == 5 and blocks[0].truncated


def test_byte_cap_on_a_single_huge_line() -> None:
    asm = BlockAssembler(max_bytes=100)
    blocks = feed_all(asm, A, "Error: x\n" + "y" * 10_000_000) + asm.flush_all()
    assert blocks[0].lines == ("Error: x",) and blocks[0].truncated


def test_idle_timeout_and_job_cap() -> None:
    asm = BlockAssembler(idle_seconds=60, max_jobs=2)
    asm.feed(A, "Error: a", 0.0)
    assert asm.flush_idle(30.0) == []
    assert [b.lines[0] for b in asm.flush_idle(61.0)] == ["Error: a"]
    asm.feed(A, "Error: a2", 100.0)
    asm.feed(B, "Error: b", 100.0)
    evicted = asm.feed(JobKey("r", "3", 1, "j"), "Error: c", 100.0)
    assert [b.lines[0] for b in evicted] == ["Error: a2"]  # least recently active first
    assert asm.jobs_tracked == 2


def test_weak_start_is_uncertain_and_other_output_closes() -> None:
    asm = BlockAssembler()
    blocks = feed_all(asm, A, "AccessDeniedException: User: x\nis not authorized\n$ terraform apply")
    assert len(blocks) == 1 and not blocks[0].certain
    assert blocks[0].lines == ("AccessDeniedException: User: x", "is not authorized")


def test_open_positions_hold_back_the_first_line_of_an_open_block() -> None:
    asm = BlockAssembler()
    asm.feed(A, "ordinary", 1.0, position=("p0", 10))
    asm.feed(A, "Error: x", 1.0, position=("p0", 11))
    asm.feed(A, "detail", 1.0, position=("p0", 12))
    assert asm.open_positions() == {"p0": 11}
    asm.end_job(A)
    assert asm.open_positions() == {}


def test_warning_block_is_not_certain() -> None:
    asm = BlockAssembler()
    blocks = feed_all(asm, A, "╷\n│ Warning: Deprecated argument\n╵")
    assert len(blocks) == 1 and not blocks[0].certain


def test_idle_timeout_uses_the_watermark_of_the_blocks_own_partition() -> None:
    asm = BlockAssembler(idle_seconds=60)
    asm.feed(A, "Error: slow partition", 0.0, position=("p0", 1))
    asm.feed(B, "Error: fast partition", 0.0, position=("p1", 1))
    # p1 has moved far ahead; p0 has not: only B's block is idle.
    closed = asm.flush_idle({"p0": 10.0, "p1": 1000.0})
    assert [b.lines[0] for b in closed] == ["Error: fast partition"]
    assert asm.has_open(A)


# -- formats (docs/design.md "Formats detected") -------------------------------------------

def lines_of(text: str) -> list[tuple[str, ...]]:
    asm = BlockAssembler()
    return [b.lines for b in feed_all(asm, A, text) + asm.flush_all()]


def test_terraform_011_error_list_is_one_block() -> None:
    text = ("Error: Error applying plan:\n\n1 error(s) occurred:\n\n"
            "* aws_s3_bucket.b: Error creating S3 bucket: AccessDenied: Access Denied\n"
            "\tstatus code: 403, request id: 1\n\n\nnext")
    blocks = lines_of(text)
    assert len(blocks) == 1
    assert blocks[0][0] == "Error: Error applying plan:" and "1 error(s) occurred:" in blocks[0]
    assert any(line.startswith("* aws_s3_bucket.b:") for line in blocks[0])


def test_error_count_and_list_items_start_a_block_when_none_is_open() -> None:
    assert lines_of("2 errors occurred:\n* one\n* two\n\n\n") == [
        ("2 errors occurred:", "* one", "* two")]
    assert lines_of("* google_project.p: googleapi: Error 403: forbidden\n\n\n")[0][0].startswith(
        "* google_project.p:")


@pytest.mark.parametrize("line", [
    'Backend reinitialization required. Please run "terraform init".',
    "error running Plan: rpc error: code = Unknown desc = error acquiring the state lock",
    'The role "arn:aws:iam::1:role/ci" cannot be assumed.',
    "error: You must be logged in to the server (Unauthorized)",
    "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
    "* google_project_iam_member.m: Error applying IAM policy to project: denied",
])
def test_diagnostics_without_error_prefix_start_a_block(line: str) -> None:
    assert lines_of(line + "\n\n\n") == [(line,)]


@pytest.mark.parametrize("raw, text", [
    ("ERRO[0012] AccessDeniedException: denied", "AccessDeniedException: denied"),
    ("[terragrunt] [/src/app] 2019/05/01 10:00:00 Error: x", "Error: x"),
    ("14:02:11.123 STDERR [live/prod] terraform: │ Error: foo", "Error: foo"),
    ("\ufffd[31m│\ufffd[0m \ufffd[1mError: \ufffd[0mlost ESC", "Error: lost ESC"),
    ("??? Error: mangled frame", "Error: mangled frame"),
    ("\u2190[31mError refreshing state: 1 error(s) occurred:", "Error refreshing state: 1 error(s) occurred:"),
    ("\u00a6 Error: could not download chart", "Error: could not download chart"),
    ('message: "\\e[31m\u2502\\e[0m \\e[1mError: x', 'message: "\u2502 Error: x'),
    (" 2022/02/10 14:32:28 Terraform apply | Error: waiting for creation", "Error: waiting for creation"),
    ("null_resource.cmd[1] (local-exec): \u2502 Error: Failed to read state file",
     "Error: Failed to read state file"),
])
def test_wrapper_prefixes_and_mangled_codes_are_gone(raw: str, text: str) -> None:
    assert lines_of(raw + "\n\n\n")[0][0] == text


def test_certain_starts_and_uncertain_ones() -> None:
    """A tool's own `error:` line and a list item carrying an error are sure starts; a bare
    list item or a line with only a failure word stays uncertain (kept only if the KB knows it)."""
    def certain(text: str) -> list[bool]:
        asm = BlockAssembler()
        return [b.certain for b in feed_all(asm, A, text + "\n\n\n") + asm.flush_all()]
    assert certain("error: unable to recognize") == [True]
    assert certain("* aws_instance.a: Error launching source instance: Unsupported") == [True]
    assert certain("* aws_instance.a: can't find storage pool") == [False]
    assert certain('"helm_release.x": Kubernetes cluster unreachable') == [False]


def test_a_closing_line_starts_a_block_marked_tail() -> None:
    """A wrapper's or CI's closing line starts a block marked tail: the aggregator counts it
    only when nothing of its job was counted before (tests/test_tail_blocks.py)."""
    def tails(text: str) -> list[tuple[str, bool]]:
        return [(b.lines[0], b.tail) for b in lines_of_blocks(text)]
    after = "Error: Missing required argument\n\n\n::debug::Terraform exited with code 1.\n"
    assert tails(after) == [("Error: Missing required argument", False),
                            ("Terraform exited with code 1.", True)]
    framed = "╷\n│ Error: boom\n╵\n##[error]Process completed with exit code 1.\n"
    assert tails(framed) == [("Error: boom", False), ("Process completed with exit code 1.", True)]
    # HCP's closing line of a remote run (terraform-provider-aws#42420 after its diagnostic)
    hcp = "╷\n│ Error: No valid credential sources found\n╵\nOperation failed: failed running terraform plan (exit 1)\n"
    assert tails(hcp)[1] == ("Operation failed: failed running terraform plan (exit 1)", True)
    # `terraform plan -detailed-exitcode` exits 2 for "changes present": not a closing line,
    # only a weak start (no entry knows it: tests/test_tail_blocks.py)
    assert tails("Process completed with exit code 2.\n") == [("Process completed with exit code 2.", False)]


def test_a_closing_line_after_an_announcement_starts_nothing() -> None:
    text = ("Planning failed. Terraform encountered an error while generating this plan.\n\n\n"
            "ERROR: Job failed: exit code 1\n")
    assert [b.lines[0] for b in lines_of_blocks(text)] == [
        "Planning failed. Terraform encountered an error while generating this plan."]


def test_tf_log_lines_start_no_block() -> None:
    text = ("2024-02-23T14:44:46.227Z [DEBUG] provider: error=<nil>\n"
            "2019/09/11 09:22:26 [WARN] retrying after error: throttled\n")
    assert lines_of(text) == []


def test_a_line_wrapped_at_80_columns_stays_in_its_block() -> None:
    text = ("Error: error configuring Terraform AWS Provider: error validating provider\n"
            "credentials: error calling sts:GetCallerIdentity: InvalidClientTokenId: The\n"
            "security token included in the request is invalid.\n\n\n")
    assert len(lines_of(text)) == 1 and len(lines_of(text)[0]) == 3


def test_a_detail_line_that_looks_like_a_start_stays_in_its_block() -> None:
    announced = ('Error: Error inspecting states in the "azurerm" backend:\n'
                 "    Error building Authorizer: malformed storage account key\n\n\n")
    assert len(lines_of(announced)) == 1
    paragraph = ("Error: Failed to query available provider packages\n\n"
                 "Could not retrieve the list of available versions for provider hashicorp/null\n\n\n")
    assert len(lines_of(paragraph)) == 1
    assert len(lines_of("Error: one\n\nError: two\n\n\n")) == 2


def test_plan_diff_lines_start_no_block() -> None:
    # terraform-provider-aws#17000's plan: failure words that are attribute or resource names
    text = ('  ~ resource "aws_s3_bucket" "error_pages" {\n'
            "      ~ website {\n"
            '          + error_document = "error.html"\n'
            '          - error_retention_days = 7 -> null\n'
            "      + custom_error_response {\n"
            "  # aws_cloudwatch_log_group.errors will be created\n\n\n")
    assert lines_of(text) == []
    # a list item of 0.11 (`* address: …`) still opens one
    assert lines_of("* aws_s3_bucket.b: error creating bucket\n\n\n") == [
        ("* aws_s3_bucket.b: error creating bucket",)]


def test_tf_log_lines_in_an_unframed_block_are_not_its_text() -> None:
    # A debug run interleaves log lines with the output; a block keeps the diagnostic only
    # (the go-plugin stdio warning every plugin start logs is no evidence of anything).
    text = ("Error: error configuring Terraform AWS Provider: no valid credential sources\n"
            "2022-06-23T15:40:39.662-0700 [WARN]  plugin.stdio: received EOF, stopping recv loop:"
            ' err="rpc error: code = Unimplemented desc = unknown service plugin.GRPCStdio"\n'
            "2019/09/11 09:22:26 [DEBUG] plugin: plugin exited\n"
            "Please see https://registry.terraform.io/providers/hashicorp/aws\n\n\n")
    assert lines_of(text) == [(
        "Error: error configuring Terraform AWS Provider: no valid credential sources",
        "Please see https://registry.terraform.io/providers/hashicorp/aws")]


def test_the_lock_errors_advice_paragraph_is_no_block_of_its_own() -> None:
    # Terraform 0.13 prints it two blank lines after the lock diagnostic (fit c6-024's layout)
    text = ("Error: Error locking state: Error acquiring the state lock: state blob is already locked\n"
            "Lock Info:\n  ID:        1010\n  Info:      \n\n\n"
            "Terraform acquires a state lock to protect the state from being written\n"
            "by multiple users at the same time.\n")
    assert [(b.lines[0], b.tail) for b in lines_of_blocks(text)] == [
        ("Error: Error locking state: Error acquiring the state lock: state blob is already locked",
         False),
        ("Terraform acquires a state lock to protect the state from being written", True)]
    alone = "Terraform acquires a state lock to protect the state from being written\n"
    assert lines_of(alone) == [(alone.strip(),)]


def test_a_frame_flattened_onto_one_line_is_a_sure_start() -> None:
    # spacelift-io/terraform-provider-spacelift#460: the run log lost its newlines
    line = ("Planning failed. Terraform encountered an error while generating this plan."
            " ╷ │ Error: space not found │ │ ╵")
    asm = BlockAssembler()
    blocks = feed_all(asm, A, line) + asm.flush_all()
    assert [b.lines for b in blocks] == [(line,)] and blocks[0].certain
    assert not BlockAssembler().feed(A, "│ Warning: Argument is deprecated", 1.0)
    # kubevela/terraform-controller#190: a status YAML quoting the framed line (colours gone)
    quoted = 'message: "│ Error: Invalid provider'
    assert [b.certain for b in lines_of_blocks(quoted)] == [True]


def lines_of_blocks(text: str) -> list:
    asm = BlockAssembler()
    return feed_all(asm, A, text) + asm.flush_all()


def test_an_announcement_counts_only_when_no_diagnostic_follows() -> None:
    followed = ("Planning failed. Terraform encountered an error while generating this plan.\n\n"
                "╷\n│ Error: Unsupported argument\n╵\n")
    assert lines_of(followed) == [("Error: Unsupported argument",)]
    # a plan that failed on what it printed as warnings (uncertain blocks do not answer it)
    warned = ("Planning failed. Terraform encountered an error while generating this plan.\n\n"
              "╷\n│ Warning: Argument is deprecated\n╵\n")
    blocks = lines_of_blocks(warned)
    assert [(b.lines[0][:16], b.certain) for b in blocks] == [
        ("Warning: Argumen", False), ("Planning failed.", True)]
    atlantis = '**Plan Error**\n```\nrunning "terraform plan" in ".": exit status 1\n\nError: boom\n```\n'
    assert lines_of(atlantis) == [("Error: boom", "```")]
    refused = "**Apply Failed**: Pull request must be approved before running apply.\n"
    assert [b.certain for b in lines_of_blocks(refused)] == [True]


def test_a_held_announcement_holds_its_position_back() -> None:
    asm = BlockAssembler()
    asm.feed(A, "Apply Failed: Pull request must be approved before running apply.", 1.0,
             position=("p0", 7))
    asm.feed(A, "", 1.0, position=("p0", 8))
    asm.feed(A, "", 1.0, position=("p0", 9))
    assert not asm.has_open(A) and asm.open_positions() == {"p0": 7}
    assert [b.lines[0][:13] for b in asm.end_job(A)] == ["Apply Failed:"]
    assert asm.open_positions() == {}


def test_a_workspace_created_at_once_answers_the_missing_workspace() -> None:
    recovered = ('Workspace "blah.com" doesn\'t exist.\n\nYou can create this workspace with the '
                 '"new" subcommand.\nCreated and switched to workspace "blah.com"!\n')
    assert lines_of_blocks(recovered) == []
    missing = 'Workspace "blah.com" doesn\'t exist.\n\nYou can create this workspace with the "new" subcommand.\n'
    assert len(lines_of_blocks(missing)) == 1


def test_terraform_011_error_count_with_parenthesized_plural() -> None:
    text = "1 error(s) occurred:\n\n* aws_route53_zone.main: resource repeated multiple times\n"
    blocks = lines_of_blocks(text)
    assert len(blocks) == 1 and blocks[0].certain and len(blocks[0].lines) == 2


def test_a_wrapper_error_level_line_is_a_tail() -> None:
    after = "╷\n│ Error: boom\n╵\nERROR  terraform invocation failed in /w/.terragrunt-cache/x\n"
    assert [b.tail for b in lines_of_blocks(after)] == [False, True]
    alone = "21:07:20.567 ERROR  Could not find Terragrunt configuration settings in /w/terragrunt.hcl\n"
    assert [b.lines[0][:5] for b in lines_of_blocks(alone)] == ["ERROR"]
