"""The naming rules of model requests, the default name, and how a model's source URL is compared and shown."""
import pytest

from domain.inputs.model_requests import default_name, folder_problem, name_problem, sha256_problem, source_of


@pytest.mark.parametrize("name", ["x.safetensors", "sub/x.safetensors", "a/b/c/d/e/f/g/x.pt", "ünïcode.ckpt",
                                  ".hidden.safetensors", "x y.safetensors", "v1.5-pruned.ckpt"])
def test_good_names(name):
    assert name_problem(name) is None


@pytest.mark.parametrize("name,problem", [
    ("", "non-empty"), ("   ", "non-empty"), (None, "non-empty"), (7, "non-empty"),
    ("x" * 256, "longer than 255 bytes"), ("é" * 128, "longer than 255 bytes"),
    ("a\\b", "'\\'"), ("../x", "'..'"), ("a/../x", "'..'"), ("a\x00b", "control"), ("a\nb", "control"),
    ("a\x7fb", "control"), ("a\x85b", "control"), ("/etc/x", "start with '/'"), ("a//b", "empty part"),
    ("a/", "empty part"), ("a/b/c/d/e/f/g/h/x", "7 folders deep"), (". .", "only dots"), ("a/./b", "only dots"),
])
def test_refused_names(name, problem):
    assert problem in (name_problem(name) or "")


@pytest.mark.parametrize("folder", ["loras", "checkpoints", "text_encoders", "upscale_models", "my-folder.v2"])
def test_good_folders(folder):
    assert folder_problem(folder) is None


@pytest.mark.parametrize("folder", ["", None, "../loras", "lo/ras", ".downloads", "..", "a b", "x" * 65,
                                    "custom_nodes", "loras\n"])
def test_refused_folders(folder):
    assert folder_problem(folder)


def test_sha256_is_64_hex_digits():
    assert sha256_problem("a" * 64) is None and sha256_problem("A" * 64) is None
    assert sha256_problem("a" * 63) and sha256_problem("g" * 64) and sha256_problem(None) and sha256_problem("a" * 65)


@pytest.mark.parametrize("url,name", [
    ("https://huggingface.co/o/r/resolve/main/x.safetensors?download=true", "x.safetensors"),
    ("https://example.com/a%20b.safetensors#frag", "a b.safetensors"),
    ("https://civitai.com/api/download/models/12345", "12345"),
    ("https://example.com/dir/", "dir"), ("https://example.com", ""), ("http://[::1", ""),
])
def test_the_default_name_is_the_url_paths_last_segment(url, name):
    assert default_name(url) == name


def test_a_source_leaves_out_credentials_query_fragment_and_default_port():
    assert source_of("HTTPS://user:pw@HuggingFace.co:443/O/R/x.safetensors?token=s#f") == \
        "https://huggingface.co/O/R/x.safetensors"
    assert source_of("http://example.com:80/x") == source_of("http://example.com/x") == "http://example.com/x"
    assert source_of("http://example.com:8080/x") == "http://example.com:8080/x"
    assert source_of("http://[::1]:8080/x") == "http://[::1]:8080/x"
    assert source_of("http://example.com") == "http://example.com/"
    assert source_of("http://[::1") == "an unparsable URL"
    assert source_of("https://example.com/X") != source_of("https://example.com/x")  # paths are case-sensitive
