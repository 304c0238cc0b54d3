from worker.redact import redact


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
