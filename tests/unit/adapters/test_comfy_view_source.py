"""ComfyViewOutputSource against a mocked Session answering real urllib3 responses: params, streaming, errors."""
import gzip
import io
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter

from adapters.comfy_view_source import CHUNK_BYTES, ComfyViewOutputSource
from domain.budget import Budget
from domain.errors import Cancelled, JobTimedOut, OutputFetchFailed
from domain.model import OutputRef

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
VIEW_URL = "http://127.0.0.1:8188/view"


def _response(status=200, body=b"", content_type=None, *, headers=None, enforce_content_length=True):
    """A requests.Response built by requests itself around an unread urllib3 body."""
    all_headers = {"Content-Length": str(len(body))}
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    all_headers.update(headers or {})
    raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers=all_headers, status=status, preload_content=False,
                               enforce_content_length=enforce_content_length)
    request = requests.Request("GET", VIEW_URL).prepare()
    return HTTPAdapter().build_response(request, raw)


@pytest.fixture
def session(mocker):
    return mocker.create_autospec(requests.Session, instance=True)


def _ref(filename="rec_single_00001_.png", subfolder="", type_="output"):
    return OutputRef(node_id="2", output_key="images", filename=filename, subfolder=subfolder, folder_type=type_)


def _read(source, ref, budget=None):
    with source.open(ref, budget or Budget()) as download:
        return download, b"".join(download.chunks)


@pytest.mark.parametrize("left_s, timeouts", [(1000.0, (10.0, 60.0)), (3.0, (3.0, 3.0))])
def test_the_timeouts_are_connect_then_read_and_never_reach_past_the_deadline(session, left_s, timeouts):
    session.get.return_value = _response(200, PNG, "image/png")
    source = ComfyViewOutputSource("http://comfy", session=session, timeout_s=60.0, connect_timeout_s=10.0)

    _read(source, _ref(), Budget(deadline=100.0 + left_s, clock=lambda: 100.0))

    assert session.get.call_args.kwargs["timeout"] == timeouts


def test_a_passed_deadline_raises_before_any_request(session):
    with pytest.raises(JobTimedOut):
        _read(ComfyViewOutputSource("http://comfy", session=session), _ref(), Budget(deadline=0.0, clock=lambda: 1.0))

    session.get.assert_not_called()


def test_the_session_is_reused(session):
    session.get.side_effect = [_response(200, PNG, "image/png"), _response(200, PNG, "image/png")]
    source = ComfyViewOutputSource("http://comfy", session=session)

    _read(source, _ref())
    _read(source, _ref("b.png"))

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

    download, _ = _read(ComfyViewOutputSource("http://comfy", session=session), _ref(filename))

    assert download.content_type == expected


@pytest.mark.parametrize(
    "header, disposition, filename, expected",
    [
        # ComfyUI 0.3.64 to 0.27: HTML and CSS as octet-stream with an inline disposition (server.py:502-515)
        ("application/octet-stream", 'filename="page.html"', "page.html", "text/html"),
        ("application/octet-stream", 'filename="style.css"', "style.css", "text/css"),
        # 0.3.64: its own .js type, sent as it is
        ("application/javascript; charset=utf-8", 'filename="app.js"', "app.js", "application/javascript"),
        # 0.28.0+: JS, SVG and XML as octet-stream attachments too (0.33 server.py:615-659)
        ("application/octet-stream", 'attachment; filename="drawing.svg"', "drawing.svg", "image/svg+xml"),
        ("application/octet-stream", 'attachment; filename="app.js"', "app.js", "text/javascript"),
        ("application/octet-stream", 'Attachment; filename="page.html"', "page.html", "text/html"),
        # an attachment of a type the file name does not tell: what /view said
        ("image/png", 'attachment; filename="x"', "x", "image/png"),
        ("image/png", 'filename="x.png"', "x.png", "image/png"),
    ],
)
def test_an_octet_stream_or_an_attachment_is_typed_by_the_file_name(session, header, disposition, filename, expected):
    session.get.return_value = _response(200, b"<svg/>", header, headers={"Content-Disposition": disposition})

    download, _ = _read(ComfyViewOutputSource("http://comfy", session=session), _ref(filename))

    assert download.content_type == expected


def test_404_names_the_file_and_the_status_and_closes_the_response(session, mocker):
    response = session.get.return_value = _response(404, b"")
    close = mocker.spy(response, "close")

    with pytest.raises(OutputFetchFailed) as caught:
        _read(ComfyViewOutputSource("http://comfy", session=session), _ref("gone.png", subfolder="rec"))

    message = str(caught.value)
    assert "rec/gone.png" in message and "404" in message and "empty body" in message
    assert caught.value.code == "output_fetch_failed"
    assert caught.value.data["status"] == 404
    close.assert_called_once()


def test_an_error_body_is_quoted_and_truncated(session):
    session.get.return_value = _response(500, ("500 Internal Server Error " + "x" * 100_000).encode(), "text/plain")

    with pytest.raises(OutputFetchFailed) as caught:
        _read(ComfyViewOutputSource("http://comfy", session=session), _ref())

    message = str(caught.value)
    assert "500 Internal Server Error" in message and "rec_single_00001_.png" in message
    assert len(message) < 400


@pytest.mark.parametrize("enforce_content_length", [True, False])
def test_a_body_shorter_than_its_content_length_is_output_fetch_failed(session, mocker, enforce_content_length):
    response = session.get.return_value = _response(
        200, PNG, "image/png", headers={"Content-Length": "1000"}, enforce_content_length=enforce_content_length)
    close = mocker.spy(response, "close")

    with pytest.raises(OutputFetchFailed) as caught:
        _read(ComfyViewOutputSource("http://comfy", session=session), _ref("cut.png"))

    assert "cut.png" in str(caught.value) and caught.value.data["filename"] == "cut.png"
    close.assert_called_once()


def test_a_compressed_body_is_not_mistaken_for_a_short_one(session):
    body = bytes(range(256)) * 64
    packed = gzip.compress(body)
    session.get.return_value = _response(200, packed, "image/png", headers={"Content-Encoding": "gzip"})

    download, data = _read(ComfyViewOutputSource("http://comfy", session=session), _ref())

    assert data == body and download.length is None


def test_a_cancel_between_chunks_propagates_unchanged_and_closes_the_response(session, mocker):
    response = session.get.return_value = _response(200, b"z" * (3 * CHUNK_BYTES), "image/png")
    close = mocker.spy(response, "close")
    stop = threading.Event()

    with pytest.raises(Cancelled, match=r"rec_single_00001_\.png"), \
            ComfyViewOutputSource("http://comfy", session=session).open(_ref(), Budget(stop=stop)) as download:
        first = next(download.chunks)
        stop.set()
        next(download.chunks)

    assert len(first) == CHUNK_BYTES
    close.assert_called_once()


def test_leaving_early_closes_the_response(session, mocker):
    response = session.get.return_value = _response(200, b"z" * (3 * CHUNK_BYTES), "image/png")
    close = mocker.spy(response, "close")

    with ComfyViewOutputSource("http://comfy", session=session).open(_ref(), Budget()) as download:
        next(download.chunks)

    close.assert_called_once()


def test_a_timeout_becomes_output_fetch_failed(session):
    session.get.side_effect = requests.ReadTimeout("read timed out")

    with pytest.raises(OutputFetchFailed, match="ReadTimeout"):
        _read(ComfyViewOutputSource("http://comfy", session=session), _ref())


# blake3:<hash>: a name ComfyUI 0.18.0+ resolves through its asset database, passed through as it was given
@pytest.mark.parametrize("filename", ["my file #1 & co.png", "ünïcødé 画像.png", "a+b=c?.png",
                                      "blake3:" + "ab" * 32])
def test_awkward_filenames_reach_the_wire_url_encoded(mocker, filename):
    real_session = requests.Session()
    send = mocker.patch.object(real_session, "send", return_value=_response(200, PNG, "image/png"))

    _read(ComfyViewOutputSource("http://comfy", session=real_session), _ref(filename, subfolder="sub dir"))

    prepared = send.call_args.args[0]
    url = urlsplit(prepared.url)
    assert (url.path, parse_qs(url.query, keep_blank_values=True)) == (
        "/view", {"filename": [filename], "subfolder": ["sub dir"], "type": ["output"]}
    )
    assert "#" not in prepared.url and " " not in prepared.url and url.query.count("&") == 2
