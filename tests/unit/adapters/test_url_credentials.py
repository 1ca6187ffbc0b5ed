"""URL credentials: hidden in any text whatever the password holds, found in one URL, in time linear in the text."""
import pytest

from adapters.url_credentials import HIDDEN, credentials, hide_credentials


@pytest.mark.parametrize("text, expected", [
    ("fetching https://user:pass-1@example.com:8443/a?b=1 now", f"fetching https://{HIDDEN}@example.com:8443/a?b=1 now"),
    ("https://user:p@ss@example.com/x", f"https://{HIDDEN}@example.com/x"),  # a raw '@' in the password
    ("Invalid endpoint: https://AKIAUSER:pw@a b.example", f"Invalid endpoint: https://{HIDDEN}@a b.example"),
    ("{'url': 'https://u:p@h/x', 'mail': 'a@b'}", f"{{'url': 'https://{HIDDEN}@h/x', 'mail': 'a@b'}}"),
    ('{"url":"http://h/x","mail":"a@b"}', '{"url":"http://h/x","mail":"a@b"}'),
    ("http://127.0.0.1:8188/prompt?client_id=a@b", "http://127.0.0.1:8188/prompt?client_id=a@b"),
])
def test_every_url_credential_in_a_text_is_hidden_and_nothing_else(text, expected):
    assert hide_credentials(text) == expected


def test_a_text_cut_inside_an_authority_hides_the_authority():
    assert hide_credentials("see https://user:pass-cut", cut=True) == f"see https://{HIDDEN}"
    assert hide_credentials("see https://user:pass-cut") == "see https://user:pass-cut"


@pytest.mark.parametrize("url, expected", [
    ("https://AKIAUSER:pw@a b.example", "AKIAUSER:pw"),
    ("https://user:pa/ss@host", "user:pa/ss"),  # read widely: a value to hide, not a URL to use
    ("https://s3.example.com", None),
    ("s3.example.com", None),
    ("", None),
])
def test_the_credentials_of_one_url(url, expected):
    assert credentials(url) == expected

