"""Downloads the model files of one MODEL_TYPE (scripts/models.json) into a folder laid out as ComfyUI's models/:
the build step of the model images (sdxl, sd3, flux1-schnell, flux1-dev, ...). `base` downloads nothing.

    python download_models.py MODEL_TYPE DEST [--table models.json]

HUGGINGFACE_ACCESS_TOKEN (a read token of an account that accepted the model's license) is sent to the files marked
`token` only, and never follows a redirect to another host. Each file is written under a temporary name, its length
checked against the server's, then renamed; a failed file is retried twice, then the build fails with its name."""

import argparse
import json
import os
import pathlib
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

CHUNK = 1 << 20
ATTEMPTS = 3
TIMEOUT_S = 60


class SameHostAuthorization(urllib.request.HTTPRedirectHandler):
    """Keeps the token on a redirect within the same host (a renamed repository); drops it for any other host (the
    signed URL of a CDN needs none, and must not see it)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        token = req.unredirected_hdrs.get("Authorization")
        if new is not None and token and urllib.parse.urlsplit(newurl).netloc == urllib.parse.urlsplit(req.full_url).netloc:
            new.add_unredirected_header("Authorization", token)
        return new


OPENER = urllib.request.build_opener(SameHostAuthorization)


def fetch(entry: dict, target: pathlib.Path, token: str) -> int:
    """One file to `target`; its size. Raises on a short body or an HTTP error."""
    request = urllib.request.Request(entry["url"], headers={"User-Agent": "comfyui-worker-build"})
    if entry.get("token") and token:
        request.add_unredirected_header("Authorization", f"Bearer {token}")
    partial = target.with_name(target.name + ".partial")
    written = 0
    with OPENER.open(request, timeout=TIMEOUT_S) as response, open(partial, "wb") as out:
        expected = response.headers.get("Content-Length")
        while chunk := response.read(CHUNK):
            out.write(chunk)
            written += len(chunk)
    if expected is not None and written != int(expected):
        partial.unlink(missing_ok=True)
        raise OSError(f"{written} of {expected} bytes arrived")
    os.replace(partial, target)
    return written


def download(entry: dict, dest: pathlib.Path, token: str) -> None:
    target = dest / entry["folder"] / entry["file"]
    target.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, ATTEMPTS + 1):
        started = time.monotonic()
        try:
            size = fetch(entry, target, token)
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403) and entry.get("token"):
                hint = "set HUGGINGFACE_ACCESS_TOKEN" if not token else "the token's account has not accepted its license"
                raise SystemExit(f"download_models: {entry['url']}: HTTP {exc.code}: a gated file ({hint})") from None
            if exc.code < 500 or attempt == ATTEMPTS:
                raise SystemExit(f"download_models: {entry['url']}: HTTP {exc.code}") from None
        except OSError as exc:
            if attempt == ATTEMPTS:
                raise SystemExit(f"download_models: {entry['url']}: {type(exc).__name__}: {exc}") from None
        else:
            seconds = time.monotonic() - started
            print(f"download_models: {entry['folder']}/{entry['file']}: {size / 1e6:.1f} MB in {seconds:.0f} s")
            return
        print(f"download_models: {entry['url']}: attempt {attempt} failed, retrying", file=sys.stderr)
        time.sleep(attempt)


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("model_type")
    cli.add_argument("dest", type=pathlib.Path)
    cli.add_argument("--table", type=pathlib.Path, default=pathlib.Path(__file__).with_name("models.json"))
    args = cli.parse_args()
    table = {name: files for name, files in json.loads(args.table.read_text()).items() if not name.startswith("_")}
    if args.model_type not in table:
        print(f"download_models: MODEL_TYPE '{args.model_type}' is not one of {', '.join(table)}", file=sys.stderr)
        return 2
    args.dest.mkdir(parents=True, exist_ok=True)
    token = os.environ.get("HUGGINGFACE_ACCESS_TOKEN", "").strip()
    for entry in table[args.model_type]:
        download(entry, args.dest, token)
    print(f"download_models: {args.model_type}: {len(table[args.model_type])} files in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
