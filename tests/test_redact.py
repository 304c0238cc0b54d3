from worker.core.redact import apply_rules, redact


def test_aws_keys_tokens_and_url_passwords() -> None:
    text = ("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws_secret_access_key=wJalrXUtnFEMI/K7MDENG "
            "postgres://admin:hunter22@db:5432/x Authorization: Bearer abcdefghijklmnop123 "
            "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
            "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr&x=1")
    out = redact(text)
    for secret in ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "hunter22", "abcdefghijklmnop123",
                   "ghp_aaaa", "IQoJb3JpZ2luX2VjEJr"):
        assert secret not in out
    assert "postgres://admin:[REDACTED]@db" in out


def test_error_text_is_kept() -> None:
    text = ("InvalidClientTokenId: The security token included in the request is invalid. "
            "User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized")
    assert redact(text) == text


def test_the_literal_prefilter_never_hides_a_secret(kb) -> None:
    """redact() skips texts without any rule's literal; on every KB example, counter-example
    and a set of secrets in odd case and places, it must equal the rules alone."""
    texts = [ex.text for e in kb for ex in (*e.examples, *e.counter_examples)]
    texts += ["akiaIOSFODNN7EXAMPLE1234", "AKIAIOSFODNN7EXAMPLE", "x ASIAABCDEFGHIJKLMNOP y",
              "PASSWORD: hunter2222", "PassWd=abcdefgh", "Api-Key: 0123456789",
              "CLIENT_SECRET=abcdefghij", "private_key = 'abcdefghijk'", "token=abcdefgh",
              "ftp://u:p4ss@host/x", "x-amz-signature=abc", "BASIC dXNlcjpwYXNzd29yZA==",
              "gho_" + "a" * 24, "glpat-" + "b" * 24, "xoxb-1234567890-abc",
              "eyJhbGciOiJI.eyJzdWIiOiIx.c2lnbmF0dXJl", "-----BEGIN RSA PRIVATE KEY-----\nMII",
              "nothing secret here at all", ""]
    changed = 0
    for text in texts:
        assert redact(text) == apply_rules(text), text
        changed += apply_rules(text) != text
    assert changed >= 15  # the samples above do exercise the rules
