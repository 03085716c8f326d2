"""The hostile corpus of 01_rnn_lstm: one case per attack, each with the score and the reason it must get.

A case builds a submission (a notebook, or raw bytes) from the master solution or the starter notebook, grades
the items it names, and declares per item the points it must get: FULL (the item's points), 0, or an exact number
derived in its comment. `reason` lists the words the student must read (in the notes or the item's feedback).
Where an attack would succeed only by escaping the sandbox (reading the master, importing the oracles, killing the
grader), the case is built on the *starter* notebook: escaping would earn points, staying inside earns 0.

Kinds: loop, exit, bomb, flood, clock (the grader's timers), forgery (the worker's files), escape (the disk, the
processes, the network), patch (monkeypatching), numbers (NaN, inf, odd arrays), notebook (the file itself).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from autograder.runner import Limits
from tests.helpers import ROOT, SOLUTION_NB, STARTER_NB, cell_by_grade_id, mutate, read_nb

FULL = "full"
ANSWER = {"rnn_cell": "rnn_cell_code", "lstm_cell": "lstm_cell_code", "gru_cell": "gru_cell_code",
          "masked_sequences": "masked_sequences_code"}
CALL_DEF = "    def call(self, inputs, states):\n"
BUILD_DEF = "    def build(self, input_shape):\n"
INIT_DEF = "    def __init__(self, units, **kwargs):\n"
RNN_RETURN = "        return h, [h]\n"
SLEEP_MARK = "4321.5"  # the detached daemon's `sleep` argument: no process with it may outlive grading

LIMITS = Limits(setup_timeout_s=25, item_timeout_scale=0.25, memory_mb=1500, sandbox="bwrap")


@dataclass
class Case:
    name: str
    kind: str
    build: Callable[[Path], object]  # (a folder for the case's own files) -> notebook node, or bytes
    expect: dict[str, float | str]  # grade_id -> points it must get (FULL, or a number); these items are graded
    reason: tuple[str, ...] = ()  # words the notes or the feedback must contain
    limits: Limits = field(default_factory=lambda: LIMITS)
    bwrap_only: bool = False  # outside a real sandbox this attack would hurt the machine running the tests


def solution():
    return read_nb(SOLUTION_NB)


def starter():
    return read_nb(STARTER_NB)


def edit(nb, grade_id: str, fn):
    nb = copy.deepcopy(nb)
    cell = cell_by_grade_id(nb, grade_id)
    cell.source = fn(cell.source)
    return nb


def prepend(nb, grade_id: str, code: str):
    return edit(nb, grade_id, lambda s: code + "\n" + s)


def append(nb, grade_id: str, code: str):
    return edit(nb, grade_id, lambda s: s + "\n\n" + code + "\n")


def in_method(nb, grade_id: str, anchor: str, *lines: str):
    return mutate(nb, grade_id, anchor, anchor + "".join(f"        {line}\n" for line in lines))


def forge(files: str) -> str:
    """A cell body that writes `files` (python dict literal {relative path: bytes}) into the job folder, says it is
    done on the worker's status pipe, and ends the process so nothing overwrites them."""
    return ("import os, json\n"
            f"for _name, _data in {files}.items():\n"
            "    os.makedirs(os.path.dirname(os.path.join(os.getcwd(), _name)), exist_ok=True)\n"
            "    open(os.path.join(os.getcwd(), _name), 'wb').write(_data)\n"
            "import sys\nos.write(int(sys.argv[-1]), b'{\"phase\": \"done\", \"where\": \"\"}\\n')  # the status pipe\n"
            "os._exit(0)\n")


ZIP_BOMB = r'''
import io, zipfile, numpy.lib.format as npy
_buf = io.BytesIO()
with zipfile.ZipFile(_buf, "w", zipfile.ZIP_DEFLATED) as _zf:
    with _zf.open("a0.npy", "w", force_zip64=True) as _fh:  # declares 2**28 float64 (2 GiB), inflates to 256 MB
        npy.write_array_header_1_0(_fh, {"descr": "<f8", "fortran_order": False, "shape": (2**28,)})
        _zero = bytes(1 << 20)
        for _ in range(256):
            _fh.write(_zero)
_bomb = _buf.getvalue()
'''

LOCKED_IDS = ("setup", "check_rnn_cell", "rnn_cell")


def renamed_nbformat_3(tmp):
    nb = solution()
    return nbformat.writes(nbformat.convert(nb, 3)).encode()


def with_metadata(nb, notebook_meta: dict, cell_meta: dict, drop_ids: bool):
    nb = copy.deepcopy(nb)
    nb.metadata.update(notebook_meta)
    for cell in nb.cells:
        cell.metadata.update(copy.deepcopy(cell_meta))
        if drop_ids:
            cell.pop("id", None)
    if drop_ids:
        nb.nbformat_minor = 4  # Colab writes 4.0 notebooks without cell ids
    return nb


def huge_outputs(tmp):
    nb = solution()
    cell = cell_by_grade_id(nb, "check_rnn_cell")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * (1 << 20) + "\n")
                    for _ in range(100)]  # 100 MB of stored output, as a print loop in a notebook leaves it
    return nb


def duplicated_grade_id(tmp):
    nb = solution()
    wrong = copy.deepcopy(cell_by_grade_id(nb, "rnn_cell_code"))
    wrong.source = wrong.source.replace("ops.tanh(", "ops.sigmoid(")
    wrong.pop("id", None)
    at = nb.cells.index(cell_by_grade_id(nb, "rnn_cell_code"))
    nb.cells.insert(at, wrong)  # an earlier copy with the same grade_id (a copy-pasted cell): nbgrader grades the last
    return nb


CASES: list[Case] = [
    # ---- loops: a cell that never ends is skipped with a note; a check that never ends costs only its item
    Case("loop_at_import", "loop", lambda t: prepend(solution(), "rnn_cell_code", "while True:\n    pass\n"),
         {"rnn_cell": 0, "gru_cell": FULL}, ("timed out after 25 s", "rnn_cell_code", "skipped", "not defined")),
    Case("loop_in_call", "loop", lambda t: in_method(solution(), "lstm_cell_code", CALL_DEF, "while True:", "    pass"),
         {"rnn_cell": FULL, "lstm_cell": 0, "gru_cell": FULL}, ("check of 01_rnn_lstm/lstm_cell timed out",)),
    Case("loop_in_build", "loop", lambda t: in_method(solution(), "gru_cell_code", BUILD_DEF, "while True:", "    pass"),
         {"rnn_cell": FULL, "gru_cell": 0}, ("check of 01_rnn_lstm/gru_cell timed out",)),
    Case("loop_in_init", "loop", lambda t: in_method(solution(), "rnn_cell_code", INIT_DEF, "import time",
                                                     "while True:", "    time.sleep(0.01)"),
         {"rnn_cell": 0, "gru_cell": FULL}, ("check of 01_rnn_lstm/rnn_cell timed out",)),
    # ---- exits
    Case("sys_exit_in_cell", "exit", lambda t: prepend(solution(), "gru_cell_code", "import sys\nsys.exit(0)\n"),
         {"rnn_cell": FULL, "gru_cell": 0}, ("gru_cell_code", "SystemExit", "GRUCell", "not defined")),
    Case("os_exit_in_cell", "exit", lambda t: prepend(solution(), "masked_sequences_code", "import os\nos._exit(7)\n"),
         {"rnn_cell": FULL, "masked_sequences": 0}, ("exit code 7", "masked_sequences_code", "skipped")),
    Case("os_exit_in_call", "exit", lambda t: in_method(solution(), "gru_cell_code", CALL_DEF, "import os", "os._exit(3)"),
         {"lstm_cell": FULL, "gru_cell": 0}, ("grading process ended (exit code 3)", "check of 01_rnn_lstm/gru_cell")),
    Case("sigkill_self", "exit", lambda t: append(solution(), "gru_cell_code", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
         {"rnn_cell": FULL, "gru_cell": 0}, ("grading process ended", "gru_cell_code", "skipped")),
    Case("raise_keyboard_interrupt", "exit", lambda t: append(solution(), "rnn_cell_code", "raise KeyboardInterrupt"),
         {"rnn_cell": FULL}, ("rnn_cell_code", "KeyboardInterrupt")),
    # ---- bombs
    Case("memory_bomb_in_call", "bomb", lambda t: in_method(solution(), "lstm_cell_code", CALL_DEF,
                                                             "hog = [np.ones(25_000_000) for _ in range(30)]"),
         {"rnn_cell": FULL, "lstm_cell": 0, "gru_cell": FULL}, ("more than 1500 MB",)),
    Case("memory_bomb_at_import", "bomb", lambda t: prepend(solution(), "gru_cell_code",
                                                             "hog = [bytearray(200 << 20) for _ in range(30)]\n"),
         {"rnn_cell": FULL, "gru_cell": 0}, ("more than 1500 MB", "gru_cell_code", "skipped")),
    Case("fork_bomb", "bomb", lambda t: append(solution(), "gru_cell_code",
                                               "import os, time\nfor _ in range(10):\n    os.fork()\ntime.sleep(60)"),
         # 1024 copies of the worker: the process watchdog or the memory watchdog (each copy's resident pages count)
         {"rnn_cell": FULL, "gru_cell": 0}, ("gru_cell_code", "skipped")),
    Case("process_bomb", "bomb", lambda t: append(solution(), "gru_cell_code",
                                                  "import subprocess\n_kids = [subprocess.Popen(['sleep', '60']) for _ in range(200)]"),
         {"rnn_cell": FULL, "gru_cell": 0}, ("more than 64 processes",)),
    Case("huge_file", "bomb", lambda t: append(solution(), "rnn_cell_code",
                                               "with open('/tmp/big', 'wb') as _f:\n    for _ in range(200):\n        _f.write(bytes(10 << 20))"),
         {"rnn_cell": FULL}, ("rnn_cell_code' raised OSError", "File too large")),
    Case("tmp_fill", "bomb", lambda t: append(solution(), "rnn_cell_code",
                                              "for _k in range(200):\n    open(f'/tmp/f{_k}', 'wb').write(bytes(10 << 20))"),
         # the private /tmp (1 GB) is full, so the check's own .keras round trip fails too: serialization 0.25 lost
         {"rnn_cell": 3 - 0.25}, ("rnn_cell_code' raised OSError", "No space left")),
    # ---- floods
    Case("stdout_flood", "flood", lambda t: append(solution(), "rnn_cell_code",
                                                   "for _ in range(200_000):\n    print('flood ' * 170)"),
         {"rnn_cell": FULL, "lstm_cell": FULL}),
    Case("stderr_flood", "flood", lambda t: append(solution(), "rnn_cell_code",
                                                   "import os\nfor _ in range(100_000):\n    os.write(2, b'e' * 2048)"),
         {"rnn_cell": FULL}),
    Case("huge_exception_message", "flood", lambda t: in_method(solution(), "rnn_cell_code", CALL_DEF,
                                                                 "raise ValueError('x' * 10_000_000)"),
         {"rnn_cell": 0.25}, ("ValueError: xxxx",)),  # constructing the cell works: interface 0.25
    # ---- the grader's clocks: never read from a file the worker writes
    Case("status_rewind", "clock", lambda t: prepend(solution(), "rnn_cell_code",
                                                     "import json, os, sys, time\n_fd = int(sys.argv[-1])\nwhile True:\n"
                                                     "    os.write(_fd, b'{\"phase\": \"start\", \"where\": \"\"}\\n')\n"
                                                     "    open('status.json', 'w').write(json.dumps({'phase': 'start', 'where': '', 'since': time.time()}))\n"
                                                     "    time.sleep(0.01)\n"),
         {"rnn_cell": 0, "gru_cell": FULL}, ("timed out after 25 s", "rnn_cell_code", "skipped")),
    Case("says_done_and_sleeps", "clock", lambda t: prepend(solution(), "rnn_cell_code",
                                                            "import os, sys, time\nos.write(int(sys.argv[-1]), b'{\"phase\": \"done\", \"where\": \"\"}\\n')\ntime.sleep(10**6)\n"),
         {"rnn_cell": 0, "gru_cell": 0}, ("no result came back",)),
    Case("sleeps_under_every_limit", "clock",
         lambda t: prepend(prepend(solution(), "lstm_cell_code", "import time\ntime.sleep(8)\n"),
                           "rnn_cell_code", "import time\ntime.sleep(8)\n"),
         {"rnn_cell": 0, "lstm_cell": 0, "gru_cell": 0}, ("used up its time budget",),
         # each cell sleeps under its own 30 s limit; the 14 s budget ends the submission (in the start-up already, on
         # a loaded machine: the reason is the same)
         limits=Limits(setup_timeout_s=30, budget_s=14, sandbox="bwrap")),
    Case("status_junk", "clock", lambda t: append(solution(), "rnn_cell_code",
                                                  "open('status.json', 'wb').write(b'{' * (10 << 20))"),
         {"rnn_cell": FULL}),
    # ---- forgery: the worker's files are the student's own data, judged like any output
    Case("forged_empty_results", "forgery", lambda t: prepend(starter(), "rnn_cell_code",
                                                              forge("{'out/0.json': json.dumps({'plain': {}, 'errors': {}, 'arrays': []}).encode(), 'out/0.npz': open('/dev/null', 'rb').read()}")),
         {"rnn_cell": 0}, ("could not be read",)),
    Case("forged_zip_bomb", "forgery", lambda t: prepend(starter(), "rnn_cell_code", ZIP_BOMB +
                                                         forge("{'out/0.json': json.dumps({'plain': {}, 'errors': {}, 'arrays': ['shape/out']}).encode(), 'out/0.npz': _bomb}")),
         {"rnn_cell": 0}, ("could not be read",)),
    Case("forged_corrupt_json", "forgery", lambda t: prepend(starter(), "rnn_cell_code",
                                                             forge("{'out/0.json': b'{not json', 'out/0.npz': b'PK'}")),
         {"rnn_cell": 0}, ("could not be read",)),
    # ---- escapes: the disk, the processes, the network (built on the starter: an escape would earn points)
    Case("read_master", "escape", lambda t: prepend(starter(), "rnn_cell_code",
                                                    f"import json\n_nb = json.load(open({str(SOLUTION_NB)!r}))\n"
                                                    "exec(''.join([c['source'] for c in _nb['cells'] if c['metadata'].get('nbgrader', {}).get('grade_id') == 'rnn_cell_code'][0]))\n"),
         {"rnn_cell": 0}, ("rnn_cell_code' raised FileNotFoundError",)),
    Case("read_master_beside_seqlab", "escape", lambda t: prepend(starter(), "rnn_cell_code",
                                                                  "import seqlab, pathlib\n_root = pathlib.Path(seqlab.__file__).parent.parent\n"
                                                                  "_src = (_root / 'solutions' / '01_rnn_lstm' / '01_rnn_lstm.ipynb').read_text()\n"),
         {"rnn_cell": 0}, ("rnn_cell_code' raised FileNotFoundError",)),
    Case("unblock_oracles", "escape", lambda t: prepend(starter(), "rnn_cell_code",
                                                        "import sys\nsys.meta_path[:] = [f for f in sys.meta_path if 'Block' not in type(f).__name__]\n"
                                                        "from autograder.oracles import keras_ref\n"),
         {"rnn_cell": 0}, ("rnn_cell_code' raised ModuleNotFoundError", "autograder.oracles")),
    Case("import_judges", "escape", lambda t: prepend(starter(), "rnn_cell_code",
                                                      "import sys, importlib\nsys.meta_path[:] = [f for f in sys.meta_path if 'Block' not in type(f).__name__]\n"
                                                      "importlib.import_module('autograder.assignments.01_rnn_lstm.judges')\n"),
         {"rnn_cell": 0}, ("ModuleNotFoundError",)),
    Case("copy_a_classmate", "escape", lambda t: prepend(starter(), "rnn_cell_code",
                                                         "import glob, json\n_jobs = glob.glob('/tmp/seqlab-grade-*/*/run*/job.json') + glob.glob('/tmp/**/job.json', recursive=True)\n"
                                                         "_mine = [j for j in _jobs if 'ada' in open(j).read()] or _jobs\n"
                                                         "exec([c['source'] for c in json.load(open(_mine[0]))['cells'] if c['grade_id'] == 'rnn_cell_code'][0])\n"),
         {"rnn_cell": 0}, ("rnn_cell_code' raised IndexError",)),
    Case("tamper_grader_code", "escape", lambda t: append(solution(), "rnn_cell_code",
                                                          "import glob\nfor _p in glob.glob('/grader/autograder/**/*.py', recursive=True) + "
                                                          f"[{str(ROOT / 'autograder' / 'item.py')!r}, {str(SOLUTION_NB)!r}]:\n"
                                                          "    try:\n        open(_p, 'a').write('\\nraise SystemExit\\n')\n    except OSError:\n        pass\n"),
         {"rnn_cell": FULL}),
    Case("write_outside_the_job", "escape", lambda t: append(solution(), "rnn_cell_code",
                                                             f"for _p in [{str(t / 'escaped.txt')!r}, '/tmp/seqlab-escaped.txt']:\n"
                                                             "    try:\n        open(_p, 'w').write('out')\n    except OSError:\n        pass\n"),
         {"rnn_cell": FULL}),
    Case("detached_daemon", "escape", lambda t: append(solution(), "rnn_cell_code",
                                                       "import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                                                       f"        os.execv('/usr/bin/sleep', ['sleep', '{SLEEP_MARK}'])\n    os._exit(0)\n"),
         {"rnn_cell": FULL, "gru_cell": FULL}),
    Case("kill_the_grader", "escape", lambda t: append(solution(), "rnn_cell_code",
                                                       "import os, signal\nfor _pid in (os.getppid(), 1):\n    try:\n        os.kill(_pid, signal.SIGKILL)\n"
                                                       "    except OSError:\n        pass\n"),
         {"rnn_cell": FULL}, bwrap_only=True),
    # a warm worker's job stopping its parent (the warm worker; a fresh worker's parent is the sandbox's init, which
    # ignores it): the job's results stand, the stopped warm worker is discarded
    Case("stop_the_parent", "escape", lambda t: append(solution(), "rnn_cell_code",
                                                       "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGSTOP)\n"
                                                       "except OSError:\n    pass\n"),
         {"rnn_cell": FULL, "gru_cell": FULL}, bwrap_only=True),
    # kill(-1) reaches every process the sender may signal but itself and its PID namespace's init: none
    Case("kill_everything", "escape", lambda t: append(solution(), "gru_cell_code", "import os, signal\nos.kill(-1, signal.SIGKILL)"),
         {"rnn_cell": FULL, "gru_cell": FULL}, ("gru_cell_code' raised ProcessLookupError",), bwrap_only=True),
    Case("network", "escape", lambda t: append(solution(), "rnn_cell_code",
                                               "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=5)"),
         {"rnn_cell": FULL}, ("rnn_cell_code' raised OSError", "unreachable")),
    # ---- monkeypatching: the judge compares in its own process
    Case("patch_numpy", "patch", lambda t: prepend(mutate(solution(), "lstm_cell_code", "c = f * c_prev + i * g", "c = f * c_prev + g"),
                                                   "lstm_cell_code",
                                                   "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                                   "np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)\n"
                                                   "np.array_equal = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"),
         # without the input gate: numerics 1.25, 'input gate and candidate' 0.5, 'weight layout' 0.5 (c_t is wrong with
         # either kernel alone), sequence 0.25 and trainable 0.25 (the input gate's weights get no gradient) are lost
         {"lstm_cell": 5 - 1.25 - 0.5 - 0.5 - 0.25 - 0.25}, ("input gate",)),
    Case("patch_convert_to_numpy", "patch", lambda t: prepend(starter(), "rnn_cell_code",
                                                              "import keras, numpy as np\nkeras.ops.convert_to_numpy = lambda x: np.zeros((2, 3))\n"),
         {"rnn_cell": 0}, ("NotImplementedError",)),
    # a model that cannot learn the sums (a sigmoid output stays below 1) with Model.predict patched to answer the
    # targets: the judge rebuilds the trained model from its config and weights and predicts in its own process.
    # 'model' (0.5) and 'learns the adding problem' (1.5) are lost, the data checks (4 x 0.25) hold
    Case("patch_predict", "patch", lambda t: append(mutate(solution(), "long_term_dependency_code",
                                                           "outputs = keras.layers.Dense(1)(h)",
                                                           'outputs = keras.layers.Dense(1, activation="sigmoid")(h)'),
                                                    "long_term_dependency_code",
                                                    "import keras, numpy as _np\n"
                                                    "def _answer(self, x, *args, **kwargs):\n"
                                                    "    x = _np.asarray(x)\n"
                                                    "    return (x[:, :, 0] * x[:, :, 1]).sum(axis=1, keepdims=True)\n"
                                                    "keras.Model.predict = _answer\n"),
         {"long_term_dependency": 1.0}, ("predicting the mean",)),
    Case("grading_detection", "patch", lambda t: mutate(solution(), "rnn_cell_code", RNN_RETURN,
                                                        "        if seqlab.grading():\n            h = h * 0.0\n" + RNN_RETURN),
         # graded as it runs while grading: zeros. Interface, shape, symbolic use and serialization (0.25 each) hold;
         # numerics, terms, the sequence and the fit step (no gradient through h * 0) fail
         {"rnn_cell": 1.0}, ("numerics",)),
    # ---- numbers
    Case("nan_outputs", "numbers", lambda t: mutate(solution(), "rnn_cell_code", RNN_RETURN,
                                                    "        h = ops.full_like(h, float('nan'))\n" + RNN_RETURN),
         {"rnn_cell": 0.75}, ("NaN",)),  # interface, shape, symbolic: 0.25 each; every comparison fails
    Case("inf_outputs", "numbers", lambda t: mutate(solution(), "rnn_cell_code", RNN_RETURN,
                                                    "        h = ops.full_like(h, float('inf'))\n" + RNN_RETURN),
         {"rnn_cell": 0.75}, ("inf",)),
    Case("ndarray_subclass", "numbers", lambda t: mutate(solution(), "rnn_cell_code", RNN_RETURN,
                                                         "        class _Always(np.ndarray):\n"
                                                         "            def __eq__(self, other): return np.ones(self.shape, bool)\n"
                                                         "            def __sub__(self, other): return np.zeros(self.shape)\n"
                                                         "        if not hasattr(h, '_keras_history') and not keras.backend.is_keras_tensor(h):\n"
                                                         "            h = (np.zeros(tuple(h.shape), 'float32') + 5).view(_Always)\n" + RNN_RETURN),
         {"rnn_cell": ("at most", 1.0)}, ("numerics",)),
    # ---- the notebook file itself
    Case("syntax_error", "notebook", lambda t: mutate(solution(), "rnn_cell_code", CALL_DEF, "    def call(self, inputs, states:\n"),
         {"rnn_cell": 0, "gru_cell": FULL}, ("SyntaxError", "rnn_cell_code")),
    Case("missing_class", "notebook", lambda t: mutate(solution(), "rnn_cell_code", None, "# I ran out of time\n"),
         {"rnn_cell": 0, "gru_cell": FULL}, ("RNNCell", "not defined")),
    Case("renamed_class", "notebook", lambda t: edit(solution(), "rnn_cell_code", lambda s: s.replace("class RNNCell(", "class MyRNNCell(")),
         {"rnn_cell": 0, "gru_cell": FULL}, ("RNNCell", "not defined")),
    Case("deleted_answer_cell", "notebook",
         lambda t: (lambda nb: (nb.cells.remove(cell_by_grade_id(nb, "gru_cell_code")), nb)[1])(solution()),
         {"rnn_cell": FULL, "gru_cell": 0}, ("gru_cell_code", "missing")),
    Case("deleted_locked_cells", "notebook",
         lambda t: (lambda nb: ([nb.cells.remove(cell_by_grade_id(nb, g)) for g in LOCKED_IDS], nb)[1])(solution()),
         {"rnn_cell": FULL, "gru_cell": FULL}),
    Case("edited_locked_cell", "notebook", lambda t: edit(solution(), "setup", lambda s: "import sys\nsys.exit()\n"),
         {"rnn_cell": FULL, "masked_sequences": FULL}, ("locked cell 'setup' was edited",)),
    Case("duplicated_grade_id", "notebook", duplicated_grade_id, {"rnn_cell": FULL, "gru_cell": FULL},
         ("'rnn_cell_code' appears 2 times",)),
    Case("corrupt_json", "notebook", lambda t: b'{"cells": [', {"rnn_cell": 0, "gru_cell": 0}, ("not a valid notebook",)),
    Case("not_utf8", "notebook", lambda t: nbformat.writes(solution()).encode("utf-8").replace(b"RNN", "Ré".encode("latin-1")),
         {"rnn_cell": 0}, ("not UTF-8",)),
    Case("nbformat_3", "notebook", renamed_nbformat_3, {"rnn_cell": FULL, "gru_cell": FULL}),
    Case("colab_metadata", "notebook", lambda t: with_metadata(
        solution(), {"colab": {"provenance": [], "toc_visible": True}, "accelerator": "GPU",
                     "kernelspec": {"name": "python3", "display_name": "Python 3"}},
        {"id": "x1y2", "colab": {"base_uri": "https://localhost:8080/"}, "outputId": "abc"}, drop_ids=True),
         {"rnn_cell": FULL, "gru_cell": FULL}),
    Case("vscode_metadata", "notebook", lambda t: with_metadata(
        solution(), {"vscode": {"interpreter": {"hash": "0" * 64}}, "language_info": {"name": "python", "version": "3.12.1"}},
        {"vscode": {"languageId": "python"}, "execution": {"iopub.status.busy": "2026-11-01T10:00:00"}}, drop_ids=False),
         {"rnn_cell": FULL, "gru_cell": FULL}),
    Case("huge_outputs", "notebook", huge_outputs, {"rnn_cell": FULL}),
]

HONEST = {"ada": lambda t: solution(), "ben": lambda t: mutate(solution(), "gru_cell_code", "z = ops.sigmoid(x_z + r_z)",
                                                                 "z = ops.sigmoid(x_z)")}
