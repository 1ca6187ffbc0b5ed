"""What the editor does to a widget's value when it queues: dynamic prompts, %date% and %Node.widget% in file
name prefixes, the annotated path of an upload combo, and arrays wrapped so ComfyUI does not read them as links."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable, Optional

# C and C++ comments, as the editor strips them before choosing (JavaScript's `.` stops at these line ends)
_COMMENTS = re.compile(r"/\*[\s\S]*?\*/|//[^\n\r\u2028\u2029]*")
_ESCAPED = re.compile(r"\\([{}|])")
_REPLACEMENT = re.compile(r"%([^%]+)%")
_DATE_PARTS = re.compile(r"dd?|MM?|hh?|mm?|ss?|yyy?y?")
_UNSAFE_IN_NAMES = re.compile(r'[/?<>\\:*|"\x00-\x1f\x7f]')
_ANNOTATION = re.compile(r"\[(input|output|temp)\]", re.IGNORECASE)

# Save nodes whose filename_prefix the editor runs through its text replacements (Comfy.SaveImageExtraOutput).
SAVE_NODE_CLASSES = frozenset(
    {"SaveImage", "SaveAnimatedWEBP", "SaveWEBM", "SaveAudio", "SaveGLB", "SaveAnimatedPNG", "CLIPSave", "VAESave",
     "ModelSave", "LoraSave", "SaveLatent"}
)  # fmt: skip


def wrap_array(value: Any) -> Any:
    """A list value as ComfyUI reads a widget value, not a `[node_id, slot]` link."""
    return {"__value__": value} if isinstance(value, list) else value


MAX_PROMPT_NESTING = 64  # `{` blocks inside chosen `{` blocks; the editor recurses without a limit


class PromptTooDeep(ValueError):
    """A dynamic prompt nests its choices deeper than MAX_PROMPT_NESTING."""


def dynamic_prompt(text: str, choose: Callable[[int], int], depth: int = 0) -> str:
    """processDynamicPrompt: comments removed, each `{a|b|c}` replaced by one choice, the chosen text resolved the
    same way, `\\{` `\\}` `\\|` written without their backslash. `choose(n)` picks an index below n."""
    if depth > MAX_PROMPT_NESTING:
        raise PromptTooDeep(f"a dynamic prompt nests {{...}} choices more than {MAX_PROMPT_NESTING} deep")
    text = _COMMENTS.sub("", text)
    out: list[str] = []
    position, length = 0, len(text)
    while position < length:
        char = text[position]
        position += 1
        if char == "\\":
            out.append("\\" + text[position : position + 1])  # at the very end the editor appends "undefined"
            position += 1
        elif char == "{":
            choices, position = _choice_block(text, position)
            out.append(dynamic_prompt(choices[choose(len(choices))], choose, depth + 1))
        else:
            out.append(char)
    return _ESCAPED.sub(r"\1", "".join(out))


def _choice_block(text: str, position: int) -> tuple[list[str], int]:
    """The choices of the block opened just before `position`, and where reading goes on after it."""
    choices: list[str] = []
    current: list[str] = []
    depth, length = 0, len(text)
    while position < length:
        char = text[position]
        position += 1
        if char == "\\":
            current.append("\\" + text[position : position + 1])
            position += 1
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if not depth:
                break
            depth -= 1
        elif char == "|" and not depth:
            choices.append("".join(current))
            current = []
            continue
        current.append(char)
    choices.append("".join(current))
    return choices, position


def text_replacements(text: str, widget_value: Callable[[str, str], Optional[Any]], now: Callable[[], datetime]) -> str:
    """applyTextReplacements: `%date:yyyy-MM-dd%` from the clock, `%Node.widget%` from another node's widget
    (found by its "Node name for S&R" property, else its title), anything else kept as written."""

    def replace(match: re.Match) -> str:
        parts = match.group(1).split(".")
        if len(parts) != 2:
            if parts[0].startswith("date:"):
                return _format_date(parts[0][5:], now())
            return match.group(0)
        value = widget_value(parts[0], parts[1])
        if value is None:
            return match.group(0)
        return _UNSAFE_IN_NAMES.sub("_", js_string(value))

    return _REPLACEMENT.sub(replace, text)


def annotated_path(value: Any, folder: str) -> Any:
    """An upload combo's value as the editor sends it: ` [output]` added when the files come from another folder."""
    if not isinstance(value, str) or not value or folder == "input" or _ANNOTATION.search(value):
        return value
    return f"{value} [{folder}]"


def _format_date(pattern: str, date: datetime) -> str:
    def part(match: re.Match) -> str:
        token = match.group(0)
        if token == "yy":
            return str(date.year)[2:]
        if token == "yyyy":
            return str(date.year)
        field = {"d": date.day, "M": date.month, "h": date.hour, "m": date.minute, "s": date.second}.get(token[0])
        return token if field is None else str(field).rjust(len(token), "0")

    return _DATE_PARTS.sub(part, pattern)


def js_string(value: Any) -> str:
    """`value + ""` in JavaScript for the values a widget holds."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)
