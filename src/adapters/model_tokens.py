"""Which credential goes where: HF_TOKEN to Hugging Face's hosts, CIVITAI_TOKEN to Civitai's, as a bearer token, over
https only, and only on hops that stayed on the URL's own host. Both services hand a download off to presigned URLs
on other hosts, which need no token (and must not see it)."""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

from adapters.guarded_http import Hop

HUGGING_FACE_HOSTS = ("huggingface.co", "hf.co")
CIVITAI_HOSTS = ("civitai.com",)


def on_hosts(host: str, domains: tuple[str, ...]) -> bool:
    """`host` is one of `domains` or a subdomain of one."""
    return any(host == domain or host.endswith("." + domain) for domain in domains)


class HostTokens:
    """The `Authorization` header for a hop, when a token is set for its host."""

    def __init__(self, hugging_face: Optional[str] = None, civitai: Optional[str] = None) -> None:
        self._tokens = [
            (hosts, token) for hosts, token in ((HUGGING_FACE_HOSTS, hugging_face), (CIVITAI_HOSTS, civitai)) if token
        ]

    def headers_for(self, hop: Hop) -> dict[str, str]:
        if not hop.same_host:
            return {}
        try:
            parts = urlsplit(hop.url)
            host = (parts.hostname or "").rstrip(".")
        except ValueError:
            return {}
        if parts.scheme != "https":
            return {}
        for hosts, token in self._tokens:
            if on_hosts(host, hosts):
                return {"Authorization": f"Bearer {token}"}
        return {}
