"""Output nodes ComfyUI dropped when it queued the prompt (a 200 with node_errors): each an error line of the
answer, never a quiet success with fewer outputs; with partial results off, the job fails and its prompt is dropped."""
from domain.errors import ModelMissing, NothingDelivered
from domain.execution.acceptance import DroppedOutput, QueuedPrompt, dropped_failures, dropped_outputs
from domain.execution.events import ExecutionStarted, NodeExecuted, NodeStarted, PromptEnded, PromptFinished
from domain.model import Outcome, OutputRef
from domain.workflow.check import Issue
from unit.domain.world import PID, named, world

A_PNG = OutputRef("2", "images", "a.png")
WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}},
            "3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
            "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}},
            "5": {"class_type": "EmptyImage", "inputs": {"width": -1}},
            "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0]}}}
MISSING = Issue("value_not_in_list", "Value not in list", "ckpt_name: 'x.safetensors' not in []", node_id="3",
                class_type="CheckpointLoaderSimple", input="ckpt_name", received="x.safetensors", allowed=())
TOO_SMALL = Issue("value_smaller_than_min", "Value -1 smaller than min of 1", "width", node_id="5",
                  class_type="EmptyImage", input="width", received=-1)


def ran_output_2():
    return [ExecutionStarted(PID), NodeStarted(PID, "1"), NodeStarted(PID, "2"), NodeExecuted(PID, "2", (A_PNG,)),
            PromptEnded(PID, Outcome("success")), PromptFinished(PID)]


def test_each_output_is_given_only_the_issues_upstream_of_it_though_comfyui_lists_more():
    # ComfyUI appends every failed output to every node with errors seen so far (execution.py validate_prompt)
    dropped = dropped_outputs(WORKFLOW, {"3": (MISSING,), "5": (TOO_SMALL,)}, {"3": ("4", "6"), "5": ("6",)})
    assert dropped == (DroppedOutput("4", "PreviewAny", (MISSING,)), DroppedOutput("6", "SaveImage", (TOO_SMALL,)))


def test_a_node_error_naming_no_output_drops_the_node_itself():
    assert dropped_outputs(WORKFLOW, {"6": (TOO_SMALL,)}, {}) == (DroppedOutput("6", "SaveImage", (TOO_SMALL,)),)


def test_the_lines_name_the_output_and_why_with_the_code_a_refusal_would_have():
    dropped = dropped_outputs(WORKFLOW, {"3": (MISSING,), "5": (TOO_SMALL,)}, {"3": ("4",), "5": ("6",)})
    queued = QueuedPrompt(3.0, dropped)
    assert [str(failure) for failure in dropped_failures(queued)] == [
        "model_missing: output node 4 (PreviewAny) was not run: node 3 (CheckpointLoaderSimple) input 'ckpt_name': "
        "'x.safetensors' is not in ComfyUI's models/checkpoints (no files; put the file there or fix the name)",
        "workflow_invalid: output node 6 (SaveImage) was not run: node 5 (EmptyImage) input 'width': "
        "Value -1 smaller than min of 1",
    ]


def test_what_ran_is_answered_with_a_line_for_each_output_comfyui_dropped():
    w = world(ran_output_2(), files={"a.png": b"png"}, raw={"workflow": WORKFLOW})
    w.comfy.acceptance = QueuedPrompt(7.0, (DroppedOutput("4", "PreviewAny", (MISSING,)),))
    result = w.run()
    assert named(result) == ["a.png"] and result.status == "ok"
    assert [failure.code for failure in result.failures] == ["model_missing"]
    assert str(result.failures[0]).startswith("model_missing: output node 4 (PreviewAny) was not run: node 3")
    assert w.comfy.cancelled == []


def test_with_partial_results_off_a_dropped_output_fails_the_job_and_drops_the_prompt():
    w = world(ran_output_2(), files={"a.png": b"png"}, raw={"workflow": WORKFLOW}, partial_results=False)
    w.comfy.acceptance = QueuedPrompt(7.0, (DroppedOutput("4", "PreviewAny", (MISSING,)),))
    error = w.fails(ModelMissing, match="ComfyUI would not run output node.s. 4: node 3 .CheckpointLoaderSimple.")
    assert error.data["dropped_outputs"] == ["4"]
    assert w.comfy.cancelled == [PID] and w.outputs == []


def test_a_run_that_made_nothing_but_dropped_outputs_fails_with_their_lines():
    script = [ExecutionStarted(PID), NodeStarted(PID, "1"), PromptEnded(PID, Outcome("success")), PromptFinished(PID)]
    w = world(script, raw={"workflow": WORKFLOW})
    w.comfy.acceptance = QueuedPrompt(7.0, (DroppedOutput("4", "PreviewAny", (MISSING,)),))
    error = w.fails(NothingDelivered)
    assert error.code == "model_missing" and error.details[0].startswith("model_missing: output node 4")


def test_an_issue_upstream_of_two_dropped_outputs_is_told_once_when_the_job_fails():
    workflow = {**WORKFLOW, "8": {"class_type": "PreviewAny", "inputs": {"source": ["3", 1]}}}
    dropped = dropped_outputs(workflow, {"3": (MISSING,)}, {"3": ("4", "8")})
    w = world(ran_output_2(), files={"a.png": b"png"}, raw={"workflow": workflow}, partial_results=False)
    w.comfy.acceptance = QueuedPrompt(7.0, dropped)
    error = w.fails(ModelMissing)
    assert str(error).count("CheckpointLoaderSimple") == 1 and error.data["dropped_outputs"] == ["4", "8"]
