#!/usr/bin/env python3
"""A troupe client in Python's standard library only: submit tasks and watch them over the
JSON-RPC API (POST /rpc) and its event stream (GET /events?task=ID, Server-Sent Events).

    python3 examples/python/troupe_client.py --url http://127.0.0.1:7420 submit echo '{"n": 7}' --wait
    python3 examples/python/troupe_client.py get TASK_ID

A token (``troupe start --token``) is read from TROUPE_TOKEN. Errors come back as JSON-RPC errors
whose ``data._tag`` names troupe's typed error (InvalidPayload, TaskNotFound, QueueFull, ...).
"""
import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


class TroupeError(Exception):
    """A typed error from the server: ``tag`` is troupe's error name, ``message`` says what to do."""

    def __init__(self, tag, message):
        super().__init__(f"{tag}: {message}")
        self.tag = tag
        self.message = message


class Troupe:
    def __init__(self, url, token=None):
        self.url = url.rstrip("/")
        self.token = token
        self._id = 0

    def _headers(self):
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        return headers

    def call(self, method, params=None):
        """One JSON-RPC call; the result, or TroupeError."""
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params or {}}).encode()
        request = urllib.request.Request(f"{self.url}/rpc", data=body, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(request) as response:
                reply = json.load(response)
        except urllib.error.HTTPError as e:
            reply = json.load(e)
        if "error" in reply:
            error = reply["error"]
            raise TroupeError((error.get("data") or {}).get("_tag", str(error.get("code"))), error.get("message", ""))
        return reply["result"]

    def submit(self, type_, payload, **options):
        """Stores a task (durable when this returns); its id."""
        return self.call("submit", {"type": type_, "payload": payload, "options": options})["id"]

    def submit_many(self, tasks):
        """Several tasks in one commit: [(type, payload, options)]; their ids in order."""
        items = [{"type": t, "payload": p, "options": o} for (t, p, o) in tasks]
        return self.call("submitMany", {"tasks": items})["ids"]

    def get(self, task_id):
        return self.call("get", {"id": task_id})

    def watch(self, task_id):
        """Yields the task's events (a snapshot first, then each change) until it ends."""
        url = f"{self.url}/events?task={urllib.parse.quote(task_id)}"
        request = urllib.request.Request(url, headers={**self._headers(), "accept": "text/event-stream"})
        with urllib.request.urlopen(request) as response:
            event, data = None, []
            for raw in response:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "" and event is not None:
                    item = json.loads("\n".join(data)) if data else {}
                    if event == "end":
                        return
                    if event == "error":
                        raise TroupeError(item.get("_tag", "error"), item.get("message", ""))
                    yield item
                    event, data = None, []


def main(argv):
    parser = argparse.ArgumentParser(description="submit and watch troupe tasks")
    parser.add_argument("--url", default=os.environ.get("TROUPE_URL", "http://127.0.0.1:7420"))
    commands = parser.add_subparsers(dest="command", required=True)
    submit = commands.add_parser("submit", help="submit a task (--wait: watch it until it ends)")
    submit.add_argument("type")
    submit.add_argument("payload", nargs="?", default="{}")
    submit.add_argument("--priority")
    submit.add_argument("--wait", action="store_true")
    get = commands.add_parser("get", help="print a task as JSON")
    get.add_argument("id")
    watch = commands.add_parser("watch", help="watch a task until it ends")
    watch.add_argument("id")
    args = parser.parse_args(argv)

    troupe = Troupe(args.url, os.environ.get("TROUPE_TOKEN"))
    try:
        if args.command == "get":
            print(json.dumps(troupe.get(args.id), indent=2))
            return 0
        if args.command == "watch":
            task_id = args.id
        else:
            options = {}
            if args.priority:
                # A name ("high") or a number ("5").
                options["priority"] = int(args.priority) if args.priority.lstrip("-").isdigit() else args.priority
            task_id = troupe.submit(args.type, json.loads(args.payload), **options)
            print(task_id, flush=True)
            if not args.wait:
                return 0
        for event in troupe.watch(task_id):
            if event["_tag"] == "StatusChanged":
                print(f"status {event['status']}", flush=True)
            elif event["_tag"] == "Progress":
                print(f"progress {event['percent']:.0f}% {event.get('description') or ''}".rstrip(), flush=True)
            elif event["_tag"] == "Log":
                print(f"log {event['level']} {event['message']}", flush=True)
        task = troupe.get(task_id)
        print(json.dumps({"status": task["status"], "result": task.get("result")}), flush=True)
        return 0 if task["status"] == "completed" else 1
    except TroupeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
