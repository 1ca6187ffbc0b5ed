"""Small workflows the fault rows run on the simulator."""


def color_of(tag: str) -> int:
    """A colour per tag, so that workflows of different rows share no cached node."""
    return sum(ord(c) * 131 ** i for i, c in enumerate(tag)) % 0xFFFFFF


def chain(tag: str, nodes: int = 3) -> dict:
    """EmptyImage, `nodes - 2` ImageInverts, SaveImage: one output, several frames per node."""
    workflow = {"1": {"class_type": "EmptyImage",
                      "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": color_of(tag)}}}
    for index in range(2, nodes):
        workflow[str(index)] = {"class_type": "ImageInvert", "inputs": {"image": [str(index - 1), 0]}}
    workflow[str(nodes)] = {"class_type": "SaveImage", "inputs": {"images": [str(nodes - 1), 0], "filename_prefix": tag}}
    return workflow


def outputs(tag: str, count: int = 4) -> dict:
    """One source image and `count` SaveImage nodes (ids 2, 3, ...): several outputs delivered concurrently."""
    workflow = {"1": {"class_type": "EmptyImage",
                      "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": color_of(tag)}}}
    for index in range(count):
        workflow[str(index + 2)] = {"class_type": "SaveImage",
                                    "inputs": {"images": ["1", 0], "filename_prefix": f"{tag}_{index}"}}
    return workflow


def failing(tag: str) -> dict:
    """ImageToMask of the alpha channel of an RGB image raises IndexError (execution_error.json)."""
    return {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1,
                                                         "color": color_of(tag)}},
            "2": {"class_type": "ImageToMask", "inputs": {"image": ["1", 0], "channel": "alpha"}},
            "3": {"class_type": "MaskPreview", "inputs": {"mask": ["2", 0]}}}


def stalling(tag: str) -> dict:
    """Node 2 (SimStall) never finishes and sends nothing."""
    return {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1,
                                                         "color": color_of(tag)}},
            "2": {"class_type": "SimStall", "inputs": {"image": ["1", 0]}},
            "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": tag}}}
