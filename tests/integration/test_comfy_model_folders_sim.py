"""ComfyHttpApi's model folder calls: GET /models (read once) and GET /internal/folder_paths (None when ComfyUI does
not answer it), against the simulator and a server that knows neither."""
import pytest
import requests

from adapters.comfy_http_api import ComfyHttpApi
from domain.budget import Budget
from domain.errors import ComfyError
from file_server import FileServer


def test_model_folders_are_comfyuis_list_read_once(comfy_sim, monkeypatch):
    api = ComfyHttpApi(comfy_sim.base_url)
    folders = api.model_folders(Budget())
    assert {"checkpoints", "loras", "vae", "custom_nodes"} <= set(folders)
    calls = []
    original = requests.Session.request
    monkeypatch.setattr(requests.Session, "request", lambda self, *a, **k: calls.append(a) or original(self, *a, **k))
    assert api.model_folders(Budget()) == folders and calls == []


def test_folder_paths_name_each_folders_paths(comfy_sim):
    paths = ComfyHttpApi(comfy_sim.base_url).folder_paths()
    assert paths is not None and paths["loras"] == [f"{comfy_sim.dirs.root}/models/loras"]


def test_a_comfyui_without_these_routes_is_a_comfy_error_for_models_and_none_for_folder_paths():
    with FileServer() as server:
        api = ComfyHttpApi(server.url(""))
        assert api.folder_paths() is None
        with pytest.raises(ComfyError, match="ComfyUI answered HTTP 404 to GET /models"):
            api.model_folders(Budget())
