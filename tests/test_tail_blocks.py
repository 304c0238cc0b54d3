"""A closing line (blocks.TAIL: a wrapper's or a CI system's line for a failed step) counts
only in a job where nothing was counted before it, whatever the blocks before it were."""

from worker.core.classify import Classifier
from worker.core.pipeline import Pipeline
from worker.kbtools.test import run_text
from worker.knowledge.entry import KnowledgeBase
from worker.model import Event, JobKey


def counted(kb: KnowledgeBase, classifier: Classifier, text: str) -> list[str | None]:
    return [m.kb_id for m in run_text(Pipeline(kb, classifier), text)]


def test_a_closing_line_alone_is_the_jobs_failure(kb: KnowledgeBase, classifier: Classifier) -> None:
    assert counted(kb, classifier, "Cleaning up project directory and file based variables\n"
                                   "ERROR: Job failed: exit code 1\n") == ["ci/ci-step-generic"]
    assert counted(kb, classifier, "The process '/usr/bin/git' failed with exit code 128\n") == [
        "ci/ci-step-generic"]


def test_the_lock_errors_advice_paragraph_counts_with_its_diagnostic_once(
        kb: KnowledgeBase, classifier: Classifier) -> None:
    text = ("Error: Error locking state: Error acquiring the state lock: state blob is already locked\n"
            "Lock Info:\n  ID:        1010\n  Info:      \n\n\n"
            "Terraform acquires a state lock to protect the state from being written\n"
            "by multiple users at the same time.\n")
    ids = counted(kb, classifier, text)
    assert len(ids) == 1 and ids[0] is not None and "lock" in ids[0]


def test_exit_code_2_of_a_step_is_not_a_failure(kb: KnowledgeBase, classifier: Classifier) -> None:
    """`terraform plan -detailed-exitcode` exits 2 when the plan has changes."""
    assert counted(kb, classifier, "##[error]Process completed with exit code 2.\n") == []


def test_a_closing_line_after_a_counted_diagnostic_is_not_counted(
        kb: KnowledgeBase, classifier: Classifier) -> None:
    text = ("╷\n│ Error: Unsupported argument\n│\n│   on main.tf line 3:\n╵\n"
            "Error running command: terraform plan\n"
            "##[error]Process completed with exit code 1.\n")
    assert counted(kb, classifier, text) == ["terraform/terraform-config-generic"]


def test_a_closing_line_after_blocks_that_were_dropped_is_counted(
        kb: KnowledgeBase, classifier: Classifier) -> None:
    """An uncertain block the KB does not know is dropped, so it did not count the failure:
    the closing line after it is then the only sign of it."""
    text = ("Validating resources... 0 errors so far\n\n\n"
            "##[error]Process completed with exit code 1.\n")
    assert counted(kb, classifier, text) == ["ci/ci-step-generic"]


def test_a_new_job_after_the_end_of_input_starts_afresh(kb: KnowledgeBase,
                                                        classifier: Classifier) -> None:
    """One pipeline for many texts (kb test, eval): each close() ends every job."""
    pipe = Pipeline(kb, classifier)
    assert [m.kb_id for m in run_text(pipe, "╷\n│ Error: Unsupported argument\n╵\n")]
    assert [m.kb_id for m in run_text(pipe, "ERROR: Job failed: exit code 1\n")] == [
        "ci/ci-step-generic"]


def test_a_job_end_event_ends_the_jobs_memory(kb: KnowledgeBase, classifier: Classifier) -> None:
    """After its job_end a job key is a new job (a re-used key): its closing line counts."""
    pipe = Pipeline(kb, classifier)
    pipe.keep_matches = True
    job = JobKey("acme/infra", "7", 1, "plan")

    def event(message: str = "", kind: str = "log", t: float = 1.0) -> Event:
        return Event(message=message, timestamp=t, repo=job.repo, run_id=job.run_id,
                     run_attempt=job.run_attempt, job=job.job, kind=kind, status="failure")
    for n, line in enumerate(["╷", "│ Error: Unsupported argument", "╵"]):
        pipe.process(event(line, t=1.0 + n))
    pipe.process(event(kind="job_end", t=5.0))
    pipe.process(event("ERROR: Job failed: exit code 1", t=6.0))
    pipe.close()
    assert [m.kb_id for m in pipe.matches] == ["terraform/terraform-config-generic",
                                                "ci/ci-step-generic"]
