"""Instructions the web process spends per request, counted by valgrind instead of timed.

On a shared machine a request's time moves by a third from hour to hour; the number of
instructions the web process executes for it hardly moves. This runs the app in process
(Flask's test client, a fresh PostgreSQL database as bench/http.py makes one, the four-step
model of bench/data with its forms) under ``valgrind --tool=callgrind`` twice: with a few
requests and with more, everything else equal. The difference of the two totals divided by the
difference of the requests is what one request costs, without start-up, imports and set-up.

    python bench/instructions.py [--what complete|inbox|both] [--small 5] [--large 25]

``complete``: that many cases taken through their four steps (requests = 4 x cases);
``inbox``: that many office inbox pages of 100 rows at 150 open tasks. Needs valgrind (Debian
package ``valgrind``); each run takes one to two minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# python puts this folder first on the import path, where bench/http.py would stand in for the
# standard library's http package: behind it, and the project's own code first.
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

STEPS_PER_CASE = 4
OPEN_FOR_INBOX = 150


def _work(what: str, count: int) -> None:
    """The measured part, run inside valgrind: set-up, then ``count`` cases or pages."""
    from _http_load import FORM_DATA, INBOX_PATH, new_case
    from _http_rig import Store, database, server_environment

    from webapp import create_app

    with tempfile.TemporaryDirectory() as folder, database("postgres", Path(folder)) as db:
        store = Store(db.url)
        token = store.prepare(1)[0]
        os.environ.update(server_environment(db.url, Path(folder)))
        client = create_app({"KIM_DATABASE_URL": db.url}).test_client()
        auth = {"Authorization": f"Bearer {token}"}
        cases = (count if what == "complete" else 0) + OPEN_FOR_INBOX
        first_tasks = [client.post("/api/v1/cases", json=new_case(i), headers=auth).get_json()["tasks"][0]
                       for i in range(cases)]
        for _ in range(5):
            client.get(INBOX_PATH, headers=auth)
        if what == "complete":
            for task in first_tasks[:count]:
                while task:
                    reply = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=auth,
                                        json={"data": FORM_DATA.get(task["bpmn_id"], {})})
                    if reply.status_code != 200:
                        raise SystemExit(f"completion failed: {reply.status_code} {reply.get_data(as_text=True)}")
                    following = reply.get_json()["next_tasks"]
                    task = following[0] if following else None
        else:
            for _ in range(count):
                if client.get(INBOX_PATH, headers=auth).status_code != 200:
                    raise SystemExit("the inbox page failed")
        store.close()


def _instructions(what: str, count: int) -> int:
    """Total instructions of one run of :func:`_work` under callgrind."""
    with tempfile.TemporaryDirectory() as folder:
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/out",
                   sys.executable, __file__, "--child", what, str(count)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the run under valgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", choices=("complete", "inbox", "both"), default="both")
    parser.add_argument("--small", type=int, default=5)
    parser.add_argument("--large", type=int, default=25)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _work(args.child[0], int(args.child[1]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    if args.large <= args.small:
        raise SystemExit("--large must be more than --small")
    for what in ("complete", "inbox") if args.what == "both" else (args.what,):
        small, large = _instructions(what, args.small), _instructions(what, args.large)
        requests = (args.large - args.small) * (STEPS_PER_CASE if what == "complete" else 1)
        label = "completion" if what == "complete" else "inbox page of 100"
        print(f"{label:20s} {(large - small) / requests / 1e6:6.2f} million instructions per request "
              f"({small:,} with {args.small}, {large:,} with {args.large})")


if __name__ == "__main__":
    main()
