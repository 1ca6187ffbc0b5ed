"""ComfyViewImageSource against a mocked requests.Session: params, content types, errors."""
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from adapters.comfy_view_source import ComfyViewImageSource
from domain.errors import OutputFetchFailed
from domain.model import Blob, OutputRef

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _response(status=200, body=b"", content_type=None):
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.encoding = "utf-8"
    if content_type is not None:
        response.headers["Content-Type"] = content_type
    return response


@pytest.fixture
def session(mocker):
    return mocker.create_autospec(requests.Session, instance=True)


def _ref(filename="rec_single_00001_.png", subfolder="", type_="output"):
    return OutputRef(node_id="2", kind="images", filename=filename, subfolder=subfolder, type=type_)


def test_200_returns_the_bytes_and_content_type(session):
    session.get.return_value = _response(200, PNG, "image/png")
    source = ComfyViewImageSource("http://127.0.0.1:8188/", session=session, timeout_s=5.0)

    blob = source.fetch(_ref(subfolder="video", type_="temp"))

    assert blob == Blob(data=PNG, content_type="image/png")
    session.get.assert_called_once_with(
        "http://127.0.0.1:8188/view",
        params={"filename": "rec_single_00001_.png", "subfolder": "video", "type": "temp"},
        timeout=5.0,
    )


def test_the_session_is_reused(session):
    session.get.return_value = _response(200, PNG, "image/png")
    source = ComfyViewImageSource("http://comfy", session=session)

    source.fetch(_ref())
    source.fetch(_ref("b.png"))

    assert session.get.call_count == 2


@pytest.mark.parametrize(
    "header, filename, expected",
    [
        ("image/png; charset=utf-8", "x.png", "image/png"),
        ("Audio/FLAC", "x.flac", "audio/flac"),
        (None, "rec_00001_.webp", "image/webp"),
        ("", "clip.mp4", "video/mp4"),
        (None, "rec_latent_00001_.latent", "application/octet-stream"),
        ("application/octet-stream", "rec_latent_00001_.latent", "application/octet-stream"),
    ],
)
def test_content_type_header_then_filename_then_octet_stream(session, header, filename, expected):
    session.get.return_value = _response(200, b"bytes", header)

    assert ComfyViewImageSource("http://comfy", session=session).fetch(_ref(filename)).content_type == expected


def test_404_names_the_file_and_the_status(session):
    session.get.return_value = _response(404, b"")

    with pytest.raises(OutputFetchFailed) as caught:
        ComfyViewImageSource("http://comfy", session=session).fetch(_ref("gone.png", subfolder="rec"))

    message = str(caught.value)
    assert "rec/gone.png" in message and "404" in message and "empty body" in message
    assert caught.value.code == "output_fetch_failed"
    assert caught.value.data["status"] == 404


def test_an_error_body_is_quoted_and_truncated(session):
    session.get.return_value = _response(500, ("500 Internal Server Error " + "x" * 1000).encode(), "text/plain")

    with pytest.raises(OutputFetchFailed) as caught:
        ComfyViewImageSource("http://comfy", session=session).fetch(_ref())

    message = str(caught.value)
    assert "500 Internal Server Error" in message and "rec_single_00001_.png" in message
    assert len(message) < 400


def test_a_connection_error_becomes_output_fetch_failed(session):
    session.get.side_effect = requests.ConnectionError("[Errno 111] Connection refused")

    with pytest.raises(OutputFetchFailed) as caught:
        ComfyViewImageSource("http://comfy", session=session).fetch(_ref())

    assert "rec_single_00001_.png" in str(caught.value) and "Connection refused" in str(caught.value)
    assert isinstance(caught.value.__cause__, requests.ConnectionError)


def test_a_timeout_becomes_output_fetch_failed(session):
    session.get.side_effect = requests.ReadTimeout("read timed out")

    with pytest.raises(OutputFetchFailed, match="ReadTimeout"):
        ComfyViewImageSource("http://comfy", session=session).fetch(_ref())


@pytest.mark.parametrize("filename", ["my file #1 & co.png", "ünïcødé 画像.png", "a+b=c?.png"])
def test_awkward_filenames_reach_the_wire_url_encoded(mocker, filename):
    real_session = requests.Session()
    send = mocker.patch.object(real_session, "send", return_value=_response(200, PNG, "image/png"))

    ComfyViewImageSource("http://comfy", session=real_session).fetch(_ref(filename, subfolder="sub dir"))

    prepared = send.call_args.args[0]
    url = urlsplit(prepared.url)
    assert (url.path, parse_qs(url.query, keep_blank_values=True)) == (
        "/view", {"filename": [filename], "subfolder": ["sub dir"], "type": ["output"]}
    )
    assert "#" not in prepared.url and " " not in prepared.url and url.query.count("&") == 2
