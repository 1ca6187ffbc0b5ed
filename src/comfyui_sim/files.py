"""GET /view and POST /upload/image with ComfyUI's status codes for bad names (http_probes.json)."""

import mimetypes
import os

from aiohttp import web

from .app_key import SIM

TROUBLE = "500 Internal Server Error\n\nServer got itself in trouble"
# audio.json and video_webm_mp4.json views: what ComfyUI's /view answered (not left to this machine's mime.types)
RECORDED_TYPES = {
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".opus": "audio/ogg",
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".webp": "image/webp",
}
for _ext, _kind in RECORDED_TYPES.items():
    mimetypes.add_type(_kind, _ext)
# 0.3.64 server.py:502-515: these are sent as application/octet-stream (with an inline `filename=` disposition); .js
# is registered as "application/javascript; charset=utf-8" (:147-149), which the set misses, so it is sent as that
DOWNLOAD_ONLY = {"text/html", "text/html-sandboxed", "application/xhtml+xml", "text/javascript", "text/css"}
OLD_JS_TYPE = "application/javascript; charset=utf-8"
# 0.28.0+ (#14734; 0.33 folder_paths.py:279-323): types a browser may run are octet-stream attachments, nosniff
DANGEROUS = {
    "text/html",
    "text/html-sandboxed",
    "application/xhtml+xml",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "text/css",
    "image/svg+xml",
    "application/xml",
    "text/xml",
    "message/rfc822",
}


def trouble() -> web.Response:
    """aiohttp's answer to an exception in a handler (validation_error.json non_json_body)."""
    return web.Response(status=500, text=TROUBLE)


async def view(request: web.Request) -> web.StreamResponse:
    sim, query = request.app[SIM], request.query
    if "filename" not in query:
        return web.Response(status=404)
    raw = query["filename"]
    forced = sim.faults.view_status.get(raw) or sim.faults.view_status.get(os.path.basename(raw))
    if forced:
        return web.Response(status=int(forced))
    if sim.profile.view_blake3 and raw.startswith("blake3:"):
        # 0.18.0+ resolves the hash through the asset database (0.19.3 server.py:501-510); the simulator has none
        return web.Response(status=404)
    filename, folder = sim.dirs.annotated(raw)
    if not filename or filename[0] == "/" or ".." in filename:
        return web.Response(status=400)
    if folder is None:
        folder = sim.dirs.by_type(query.get("type", "output"))
    if folder is None:
        return web.Response(status=400)
    if "subfolder" in query:
        nested = os.path.join(folder, query["subfolder"])
        if os.path.commonpath((os.path.abspath(nested), folder)) != folder:
            return web.Response(status=403)
        folder = nested
    filename = os.path.basename(filename)
    path = os.path.join(folder, filename)
    if not os.path.isfile(path):
        return web.Response(status=404)
    content_type, headers = view_headers(sim.profile.dangerous_as_attachment, filename)
    cut = sim.faults.view_truncate.get(raw, sim.faults.view_truncate.get(filename))
    if cut is not None:
        return await truncated(request, path, int(cut), content_type)
    return web.FileResponse(path, headers=headers)


def view_headers(dangerous_as_attachment: bool, filename: str) -> tuple[str, dict]:
    """/view's Content-Type and headers for a file (its plain branch, no `preview=`), by the version's rules."""
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    if not dangerous_as_attachment:
        if filename.lower().endswith(".js"):
            content_type = OLD_JS_TYPE
        if content_type in DOWNLOAD_ONLY:
            content_type = "application/octet-stream"
        return content_type, {"Content-Disposition": f'filename="{filename}"', "Content-Type": content_type}
    # 0.33 server.py:615-659 (a client that sends no Sec-Fetch-Dest gets SVG as an attachment too)
    safe = filename.replace("\\", "\\\\").replace('"', '\\"')
    headers = {"X-Content-Type-Options": "nosniff", "Content-Disposition": f'filename="{safe}"'}
    media = content_type.split(";", 1)[0].strip().lower()
    if media in DANGEROUS or media.endswith("+xml") or media.endswith("/xml"):
        content_type = "application/octet-stream"
        headers.update({"Vary": "Sec-Fetch-Dest", "Cache-Control": "no-store"})
        headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    headers["Content-Type"] = content_type
    return content_type, headers


async def truncated(request: web.Request, path: str, cut: int, content_type: str) -> web.StreamResponse:
    """The full Content-Length, only `cut` bytes of the body, then the connection closes (Faults.view_truncate)."""
    with open(path, "rb") as source:
        data = source.read()
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.content_length = len(data)
    await response.prepare(request)
    await response.write(data[:cut])
    if request.transport is not None:
        request.transport.close()
    return response


async def upload_image(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    if sim.faults.upload_status:
        await request.read()
        status = int(sim.faults.upload_status)
        return trouble() if status == 500 else web.Response(status=status)
    try:
        post = await request.post()
    except Exception:
        return trouble()
    kind = post.get("type") or "input"
    base = sim.dirs.by_type(kind) if isinstance(kind, str) else None
    image = post.get("image")
    if base is None:
        return trouble()
    if not isinstance(image, web.FileField) or not image.filename:
        return web.Response(status=400)
    filename = image.filename
    if filename.startswith("/"):
        # http_probes.json upload_probes.absolute: a leading "/" is a 500, not a 400
        return trouble()
    subfolder = post.get("subfolder", "")
    if not isinstance(subfolder, str):
        return trouble()
    folder = os.path.join(base, os.path.normpath(subfolder))
    path = os.path.abspath(os.path.join(folder, filename))
    if os.path.commonpath((base, path)) != base:
        return web.Response(status=400)
    os.makedirs(folder, exist_ok=True)
    data = image.file.read()
    name, duplicate = filename, False
    if post.get("overwrite") not in ("true", "1"):
        stem, ext = os.path.splitext(filename)
        counter = 1
        while os.path.exists(path):
            with open(path, "rb") as existing:
                if existing.read() == data:
                    duplicate = True
                    break
            name = f"{stem} ({counter}){ext}"
            path = os.path.join(folder, name)
            counter += 1
    if not duplicate:
        with open(path, "wb") as target:
            target.write(data)
    return web.json_response({"name": name, "subfolder": subfolder, "type": kind})
