"""The widgets ComfyUI's editor builds for a node class from /object_info, and how a saved node's values fill them.

This follows the editor ComfyUI 0.3.64 ships (ComfyUI_frontend 1.27): `litegraphService` builds a node's input
sockets, then one widget per widget input in `input_order`; seed-like widgets get a `control_after_generate`
companion, combos with `control_after_generate` a companion and a `control_filter_list`; the editor's own
extensions add widgets of their own (an image upload button after an upload combo, the audio player, the 3D
viewers). `widgets_values` holds one value per widget in that order, companions included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

NO_VALUE = object()  # a widget without a value: the editor's `undefined`, left out of the prompt

# Widget types of the editor's core (scripts/widgets.ts) and of its bundled extensions.
CORE_WIDGET_TYPES = frozenset(
    {"INT", "FLOAT", "BOOLEAN", "STRING", "MARKDOWN", "COMBO", "IMAGEUPLOAD", "FILEUPLOAD", "COLOR", "IMAGECOMPARE",
     "TREESELECT", "MULTISELECT", "CHART", "GALLERIA", "SELECTBUTTON", "TEXTAREA"}
)  # fmt: skip
EXTENSION_WIDGET_TYPES = frozenset(
    {"LOAD_3D", "LOAD_3D_ANIMATION", "PREVIEW_3D", "PREVIEW_3D_ANIMATION", "AUDIO_UI", "AUDIOUPLOAD", "AUDIO_RECORD",
     "WEBCAM"}
)  # fmt: skip
WIDGET_TYPES = CORE_WIDGET_TYPES | EXTENSION_WIDGET_TYPES
SEED_NAMES = ("seed", "noise_seed")  # INT inputs that get a control widget without asking (useIntWidget)
AUDIO_PLAYER_CLASSES = frozenset({"LoadAudio", "SaveAudio", "PreviewAudio", "SaveAudioMP3", "SaveAudioOpus"})
PREVIEW_3D_CLASSES = {"Preview3D": "PREVIEW_3D", "Preview3DAnimation": "PREVIEW_3D_ANIMATION", "SaveGLB": "PREVIEW_3D"}
UPLOAD_OPTIONS = ("image_upload", "video_upload", "animated_image_upload")
LOAD_3D_BUTTONS = (("upload 3d model", "upload3dmodel"), ("upload extra resources", "uploadExtraResources"),
                   ("clear", "clear"))  # fmt: skip


@dataclass(frozen=True)
class Widget:
    """One editor widget: `saved` if it has a place in widgets_values, `sent` if its value goes into the prompt."""

    name: str
    default: Any
    saved: bool = True
    sent: bool = True
    kind: str = ""
    dynamic_prompts: bool = False
    upload_folder: Optional[str] = None  # an upload combo's folder: its value is annotated unless it is "input"
    has_control: bool = False  # followed by a control_after_generate companion


@dataclass(frozen=True)
class InputSocket:
    name: str
    type: Any
    widget: Optional[str]  # the widget this socket edits


@dataclass(frozen=True)
class DefinitionInput:
    """A definition input as the editor's migration of old saves counts it."""

    name: str
    forced: bool  # forceInput: before frontend 1.16 it still had a widget value
    two_values: bool  # counted with a control companion (control_after_generate, or named seed/noise_seed)


@dataclass(frozen=True)
class NodeLayout:
    """A class's live input sockets (sockets first, then widget inputs), widgets, output types and inputs."""

    sockets: tuple[InputSocket, ...]
    widgets: tuple[Widget, ...]
    output_types: tuple[Any, ...]
    declared: frozenset[str]  # the inputs ComfyUI declares; other widget values are the editor's own
    definition: tuple[DefinitionInput, ...]  # definition order, the editor's additions included

    def widget_index(self, name: str) -> Optional[int]:
        """The first widget with this name, as `node.widgets.find(...)` picks it."""
        for index, widget in enumerate(self.widgets):
            if widget.name == name:
                return index
        return None


_LAYOUTS: dict[tuple[str, int], tuple[Mapping, NodeLayout]] = {}
MAX_CACHED_LAYOUTS = 4096


def cached_layout(class_type: str, info: Mapping) -> NodeLayout:
    """`layout_for`, kept while the same /object_info entry is handed in (the worker reads /object_info once per
    ComfyUI process, so its entries stay the same objects between jobs)."""
    key = (class_type, id(info))
    cached = _LAYOUTS.get(key)
    if cached is not None and cached[0] is info:
        return cached[1]
    if len(_LAYOUTS) >= MAX_CACHED_LAYOUTS:
        _LAYOUTS.clear()
    layout = layout_for(class_type, info)
    _LAYOUTS[key] = (info, layout)  # the entry is held, so its id is not reused while cached
    return layout


def layout_for(class_type: str, info: Mapping) -> NodeLayout:
    """The editor's sockets and widgets for one /object_info entry."""
    specs = _input_specs(class_type, info)
    ordered = _ordered(specs, info.get("input_order"))
    sockets, widget_sockets, widgets = [], [], []
    for name, (spec, _optional) in ordered:
        kind, options = _spec_kind(spec), _spec_options(spec)
        widget_kind = options.get("widgetType") if isinstance(options.get("widgetType"), str) else kind
        if widget_kind not in WIDGET_TYPES or options.get("forceInput"):
            sockets.append(InputSocket(name, kind, None))
            continue
        widgets.extend(_widgets_for(name, widget_kind, spec, options))
        if not options.get("socketless"):
            widget_sockets.append(InputSocket(name, kind, name))
    if class_type == "WebcamCapture":  # the capture button the webcam extension adds after the node's widgets
        widgets.append(Widget("capture", "capture", sent=False, kind="button"))
    outputs = info.get("output")
    output_types = tuple("COMBO" if isinstance(t, list) else t for t in outputs) if isinstance(outputs, list) else ()
    declared = _mapping(info.get("input"))
    declared_names = frozenset(
        name for category in ("required", "optional") for name in _mapping(declared.get(category))
    )
    definition = tuple(
        DefinitionInput(
            name,
            bool(_spec_options(spec).get("forceInput")),
            bool(_spec_options(spec).get("control_after_generate")) or name in SEED_NAMES,
        )
        for name, (spec, _optional) in specs.items()
    )
    return NodeLayout(tuple(sockets + widget_sockets), tuple(widgets), output_types, declared_names, definition)


def saved_values(layout: NodeLayout, node_values: Any, named: Any) -> list:
    """Each widget's value as the editor loads it: widgets_values by position over the saved widgets (after the
    editor's migration of old forceInput values), a dict by name, `widgets_values_named` over both, else defaults."""
    values = [widget.default for widget in layout.widgets]
    saved = [index for index, widget in enumerate(layout.widgets) if widget.saved]
    if isinstance(node_values, list):
        positional = _migrate(layout, node_values)
        for position, index in enumerate(saved[: len(positional)]):
            values[index] = positional[position]
    elif isinstance(node_values, Mapping):
        for index in saved:
            if layout.widgets[index].name in node_values:
                values[index] = node_values[layout.widgets[index].name]
    if isinstance(named, Mapping):
        for index in saved:
            if layout.widgets[index].name in named:
                values[index] = named[layout.widgets[index].name]
    return values


def _migrate(layout: NodeLayout, values: list) -> list:
    # migrateWidgetsValues: before frontend 1.16 a forceInput input kept a (dummy) widget value; when the saved
    # list has exactly the old count, those values are dropped. The editor pairs values with the old inputs one
    # to one although it counted two for a seed (its control companion), which shifts every later value; here
    # a forceInput seed's companion goes with it
    if not any(entry.forced for entry in layout.definition):
        return values
    widget_names = {widget.name for widget in layout.widgets}
    old = [entry for entry in layout.definition if entry.name in widget_names or entry.forced]
    if not any(entry.forced for entry in old) or sum(2 if e.two_values else 1 for e in old) != len(values):
        return values
    kept, position = [], 0
    for entry in old:
        width = 2 if entry.two_values else 1
        if not entry.forced:
            kept.extend(values[position : position + width])
        position += width
    return kept


def _input_specs(class_type: str, info: Mapping) -> dict[str, tuple[Any, bool]]:
    """Definition inputs by name (an optional input replaces a required one of the same name, in its place), with
    the inputs the editor's bundled extensions add to the definition before building the node."""
    declared = _mapping(info.get("input"))
    required, optional = _mapping(declared.get("required")), _mapping(declared.get("optional"))
    specs: dict[str, tuple[Any, bool]] = {name: (spec, False) for name, spec in required.items()}
    specs.update(_editor_inputs(class_type, required))
    for name, spec in optional.items():
        specs[name] = (spec, True)
    return specs


def _editor_inputs(class_type: str, required: Mapping) -> dict[str, tuple[Any, bool]]:
    # in the order the bundled extensions register: Preview3D and SaveGLB, AudioWidget, UploadAudio, UploadImage
    added: dict[str, tuple[Any, bool]] = {}
    if class_type in PREVIEW_3D_CLASSES:
        added["image"] = ([PREVIEW_3D_CLASSES[class_type]], False)
    if class_type in AUDIO_PLAYER_CLASSES:
        added["audioUI"] = (["AUDIO_UI", {}], False)
    if _spec_options(required.get("audio")).get("audio_upload") is True:
        added["upload"] = (["AUDIOUPLOAD", {}], False)
    for name, spec in required.items():  # Comfy.UploadImage: the first upload combo gets an upload button
        options = _spec_options(spec)
        if _spec_kind(spec) == "COMBO" and any(options.get(key) is True for key in UPLOAD_OPTIONS):
            added["upload"] = (["IMAGEUPLOAD", {**options, "imageInputName": name}], False)
            break
    return added


def _ordered(specs: dict[str, tuple[Any, bool]], input_order: Any) -> list:
    """getOrderedInputSpecs: `input_order`'s required names, then its optional names, then the rest."""
    if not isinstance(input_order, Mapping):
        return list(specs.items())
    ordered: dict[str, tuple[Any, bool]] = {}
    for category, optional in (("required", False), ("optional", True)):
        names = input_order.get(category)
        for name in names if isinstance(names, list) else ():
            if isinstance(name, str) and name in specs and specs[name][1] == optional:
                ordered.setdefault(name, specs[name])
    for name, entry in specs.items():
        ordered.setdefault(name, entry)
    return list(ordered.items())


def _widgets_for(name: str, kind: str, spec: Any, options: Mapping) -> list[Widget]:
    default = options.get("default", NO_VALUE)
    if kind == "INT":
        control = options.get("control_after_generate")
        control = control if control is not None else name in SEED_NAMES
        main = Widget(name, _or(default, 0), kind=kind, has_control=bool(control))
        return [main, _control(options)] if control else [main]
    if kind == "FLOAT":
        return [Widget(name, _or(default, 0), kind=kind)]
    if kind == "BOOLEAN":
        return [Widget(name, _or(default, False), kind=kind)]
    if kind in ("STRING", "MARKDOWN"):
        return [Widget(name, _or(default, ""), kind=kind, dynamic_prompts=options.get("dynamicPrompts") is True)]
    if kind == "COMBO":
        return _combo_widgets(name, spec, options)
    if kind == "IMAGEUPLOAD":
        return [Widget(name, "image", sent=False, kind="button")]
    if kind == "AUDIOUPLOAD":
        return [Widget(name, "", sent=False, kind="button")]
    if kind == "AUDIO_UI":
        return [Widget("audioUI", NO_VALUE, saved=False, sent=False, kind=kind)]
    if kind in ("LOAD_3D", "LOAD_3D_ANIMATION"):
        buttons = [Widget(label, value, sent=False, kind="button") for label, value in LOAD_3D_BUTTONS]
        return [*buttons, Widget(name, NO_VALUE, kind=kind)]
    if kind == "AUDIO_RECORD":
        return [Widget(name, NO_VALUE, kind=kind), Widget("record", NO_VALUE, sent=False, kind="button")]
    if kind == "COLOR":  # useColorWidget reads the V2 spec's `options`
        return [Widget(name, _mapping(options.get("options")).get("default") or "#000000", kind=kind)]
    if kind == "IMAGECOMPARE":
        return [Widget(name, ["", ""], kind=kind)]
    if kind == "MULTISELECT":
        return [Widget(name, [], kind=kind)]
    return [Widget(name, _or(default, NO_VALUE), kind=kind)]


def _combo_widgets(name: str, spec: Any, options: Mapping) -> list[Widget]:
    choices = _combo_options(spec)
    default = options.get("default")
    if options.get("multi_select"):
        return [Widget(name, [], kind="COMBO")]
    if not default:  # the editor takes the first option when the default is missing or falsy
        default = choices[0] if choices else "Loading..." if options.get("remote") else NO_VALUE
    folder = None
    if any(options.get(key) is True for key in UPLOAD_OPTIONS):
        folder = options["image_folder"] if isinstance(options.get("image_folder"), str) else "input"
    control = bool(options.get("control_after_generate"))
    widgets = [Widget(name, default, kind="COMBO", upload_folder=folder, has_control=control)]
    remote = options.get("remote")
    if isinstance(remote, Mapping):  # useRemoteWidget: an auto-refresh toggle, and a refresh button if asked
        widgets.append(Widget("Auto-refresh after generation", False, sent=False, kind="toggle"))
        if remote.get("refresh_button"):
            widgets.append(Widget("refresh", "refresh", sent=False, kind="button"))
    if control:
        widgets.append(_control(options))
        widgets.append(Widget(_companion_name(options, "control_filter_list"), "", sent=False, kind="filter"))
    return widgets


def _control(options: Mapping) -> Widget:
    return Widget(_companion_name(options, "control_after_generate"), "randomize", sent=False, kind="control")


def _companion_name(options: Mapping, default: str) -> str:
    if isinstance(options.get(default), str):
        return str(options[default])
    prefix = options.get("control_prefix")
    return f"{prefix} {default}" if prefix else default


def _spec_kind(spec: Any) -> Any:
    """The input's type as the editor reads it: `COMBO` for a list of choices or a V3 combo."""
    if not isinstance(spec, (list, tuple)) or not spec:
        return "UNKNOWN"
    if isinstance(spec[0], list):
        return "COMBO"
    return spec[0] if isinstance(spec[0], str) else "UNKNOWN"


def _spec_options(spec: Any) -> Mapping:
    if isinstance(spec, (list, tuple)) and len(spec) > 1 and isinstance(spec[1], Mapping):
        return spec[1]
    return {}


def _combo_options(spec: Any) -> list:
    if isinstance(spec, (list, tuple)) and spec and isinstance(spec[0], list):
        return spec[0]
    choices = _spec_options(spec).get("options")
    return choices if isinstance(choices, list) else []


def _mapping(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _or(value: Any, fallback: Any) -> Any:
    return fallback if value is NO_VALUE or value is None else value
