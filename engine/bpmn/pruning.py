"""Keep the live task tree small, however long a case runs.

SpiffWorkflow keeps every task it ever ran in one tree; loops make it deeper with every
iteration, its recursive walks hit Python's recursion limit after a few hundred iterations
and serializing it grows without bound. After each engine step we

1. re-root every (sub)workflow at the lowest finished common ancestor of its unfinished tasks,
2. drop finished side branches that nothing can look at again,
3. splice finished single-child links out of chains (a loop inside one parallel branch),
4. forget finished call-activity subprocesses,

and hand every dropped task to the caller, who copies what history needs into our tables.

What must stay, because SpiffWorkflow's joins look at it: the split task of a structured join
(boundary events) and its children while the join is pending, and the parent of every join
task (its input), plus any finished branch holding a task of a join that is still waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import spiff_compat

Dropped = Callable[[Any], None]


def prune_workflow(workflow: Any, on_drop: Dropped | None = None) -> int:
    """Prune the top workflow and its subprocesses; returns how many tasks were dropped."""
    dropped = 0
    for sub in list(workflow.subprocesses.values()):
        dropped += _prune_one(sub, on_drop)
    dropped += _prune_one(workflow, on_drop)
    dropped += _forget_finished_subprocesses(workflow, on_drop)
    if workflow.completed and on_drop is not None:
        for task in workflow.tasks.values():  # the end: report what stays in the final snapshot
            on_drop(task)
    return dropped


def _unfinished(workflow: Any) -> list[Any]:
    return [t for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]


def _ancestors(task: Any) -> list[Any]:
    chain = []
    node = task
    while node is not None:
        chain.append(node)
        node = node.parent
    return chain


def _lowest_common_ancestor(tasks: Iterable[Any]) -> Any:
    common: list[Any] | None = None
    for task in tasks:
        chain = list(reversed(_ancestors(task)))  # root first
        if common is None:
            common = chain
            continue
        n = 0
        while n < len(common) and n < len(chain) and common[n] is chain[n]:
            n += 1
        common = common[:n]
    return common[-1] if common else None


def _finished_ancestor(task: Any) -> Any:
    """The new root must be finished: an unfinished task inherits data from its parent."""
    node = task
    while node is not None and not node.has_state(TaskState.FINISHED_MASK):
        node = node.parent
    return node


def _protected_split_ids(workflow: Any) -> set[Any]:
    """Split tasks that a pending structured join will look up via find_ancestor."""
    split_names = {ts.split_task for ts in workflow.spec.task_specs.values()
                   if isinstance(ts, Join) and getattr(ts, "split_task", None)}
    return {t.id for t in workflow.tasks.values()
            if t.task_spec.name in split_names and any(
                not c.has_state(TaskState.FINISHED_MASK) for c in t.children)}


def _prune_one(workflow: Any, on_drop: Dropped | None) -> int:
    unfinished = _unfinished(workflow)
    if not unfinished:
        return 0
    dropped = _reroot(workflow, _finished_ancestor(_lowest_common_ancestor(unfinished)), on_drop)
    waiting_joins = {t.task_spec.name for t in unfinished if isinstance(t.task_spec, Join)}
    dropped += _drop_dead_branches(workflow, waiting_joins, on_drop)
    dropped += _splice_chains(workflow, _protected_split_ids(workflow), on_drop)
    return dropped


def _remove(workflow: Any, task: Any, on_drop: Dropped | None) -> None:
    if on_drop is not None:
        on_drop(task)
    del workflow.tasks[task.id]


def _reroot(workflow: Any, new_root: Any, on_drop: Dropped | None) -> int:
    if new_root is None or new_root is workflow.task_tree:
        return 0
    keep = {t.id for t in _subtree(new_root)}
    doomed = [t for t in workflow.tasks.values() if t.id not in keep]
    new_root.data = dict(new_root.data)  # it no longer inherits from a parent in the snapshot
    for task in doomed:
        _remove(workflow, task, on_drop)
    spiff_compat.set_parent_id(new_root, None)
    workflow.task_tree = new_root
    return len(doomed)


def _subtree(task: Any) -> list[Any]:
    out, stack = [], [task]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(c for c in node.children if c is not None)
    return out


def _is_dead(task: Any, waiting_joins: set[str]) -> bool:
    """A finished subtree no unfinished task depends on."""
    for node in _subtree(task):
        if not node.has_state(TaskState.FINISHED_MASK):
            return False
        if isinstance(node.task_spec, Join) and node.task_spec.name in waiting_joins:
            return False
    return True


def _drop_dead_branches(workflow: Any, waiting_joins: set[str], on_drop: Dropped | None) -> int:
    dropped = 0
    for parent in list(workflow.tasks.values()):
        if parent.id not in workflow.tasks:
            continue
        if isinstance(parent.task_spec, LoopTask) and not parent.has_state(TaskState.FINISHED_MASK):
            continue  # multi-instance and loop tasks track their children by id
        if len(spiff_compat.child_ids(parent)) < 2:
            continue
        for child in list(parent.children):
            if child is not None and _is_dead(child, waiting_joins):
                for node in _subtree(child):
                    _remove(workflow, node, on_drop)
                    dropped += 1
                spiff_compat.child_ids(parent).remove(child.id)
    return dropped


def _spliceable(task: Any, protected: set[Any]) -> bool:
    """A finished link whose only child is finished too. The direct parent of an unfinished task stays:
    a waiting event inherits its data again when it fires (SpiffWorkflow merges the parent's data into
    the task's), so splicing that parent out would hand it an older ancestor's values - a loop in a
    parallel branch would see the data of the fork instead of its own last iteration."""
    if not task.has_state(TaskState.FINISHED_MASK) or task.parent is None or len(spiff_compat.child_ids(task)) != 1:
        return False
    if task.id in protected or isinstance(task.task_spec, Join | SubWorkflowTask | LoopTask):
        return False
    child = task.children[0]
    return child is not None and not isinstance(child.task_spec, Join) and child.has_state(TaskState.FINISHED_MASK)


def _splice_chains(workflow: Any, protected: set[Any], on_drop: Dropped | None) -> int:
    """Remove finished links in the middle of chains: parent -> task -> child becomes parent -> child."""
    dropped = 0
    for task in list(workflow.tasks.values()):
        if task.id not in workflow.tasks or not _spliceable(task, protected):
            continue
        parent, child = task.parent, task.children[0]
        siblings = spiff_compat.child_ids(parent)
        siblings[siblings.index(task.id)] = child.id
        spiff_compat.set_parent_id(child, parent.id)
        _remove(workflow, task, on_drop)
        dropped += 1
    return dropped


def _forget_finished_subprocesses(workflow: Any, on_drop: Dropped | None) -> int:
    dropped = 0
    for task_id in list(workflow.subprocesses):
        owner = workflow.get_task_from_id(task_id) if _exists(workflow, task_id) else None
        if owner is None or owner.has_state(TaskState.FINISHED_MASK):
            sub = workflow.subprocesses.pop(task_id)
            dropped += len(sub.tasks)
            if on_drop is not None:
                for task in sub.tasks.values():
                    on_drop(task)
    return dropped


def _exists(workflow: Any, task_id: Any) -> bool:
    if task_id in workflow.tasks:
        return True
    return any(task_id in sp.tasks for sp in workflow.subprocesses.values())
