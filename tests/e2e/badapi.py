#!/usr/bin/env python3
"""badapi.py MODE PORTFILE: a loopback server answering GET /api/v2/projects
with one page built from the real ProjectListItem shape of openapi-v2.json,
broken the way MODE says, so the refresh e2e test can show that flotilla
rejects it cleanly:

  missing-id    the second project has no "id" (a required field)
  wrong-type    the second project's pg_version is the string "17"
  truncated     the body stops halfway through the JSON document
  not-json      the body is an HTML error page with status 200
  branches-404  a valid page, but each project's branch list answers 404
                while GET /projects/{id} finds the project (a deep read
                that must fail, not drop the project as deleted)
  ok            a valid page (a control: the same server, nothing broken)
"""
import http.server
import json
import sys

MODE = sys.argv[1]


def project(i):
    # every required property of ProjectListItem, with realistic values
    return {
        "id": "fixture-project-%08d" % i,
        "platform_id": "aws",
        "region_id": "aws-us-east-2",
        "name": "t-fixture-%d" % i,
        "provisioner": "k8s-neonvm",
        "default_endpoint_settings": {"autoscaling_limit_min_cu": 0.25,
                                      "autoscaling_limit_max_cu": 1,
                                      "suspend_timeout_seconds": 300},
        "settings": {"quota": {"compute_time_seconds": 360000}},
        "pg_version": 17,
        "proxy_host": "us-east-2.aws.neon.tech",
        "branch_logical_size_limit": 0,
        "branch_logical_size_limit_bytes": 0,
        "store_passwords": True,
        "active_time": 0,
        "cpu_used_sec": 0,
        "creation_source": "console",
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-01T10:00:00Z",
        "owner_id": "owner-1",
        "history_retention_seconds": 86400,
    }


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        if MODE == "branches-404" and path.endswith("/branches"):
            return self.reply(404, {"code": "", "message": "branch not found"})
        if MODE == "branches-404" and path.startswith("/api/v2/projects/"):
            return self.reply(200, {"project": project(int(path.rsplit("-", 1)[1]))})
        items = [project(1), project(2), project(3)]
        if MODE == "missing-id":
            del items[1]["id"]
        elif MODE == "wrong-type":
            items[1]["pg_version"] = "17"
        body = json.dumps({"projects": items, "applications": {}, "integrations": {}}).encode()
        ctype = "application/json"
        if MODE == "truncated":
            body = body[: len(body) // 2]
        elif MODE == "not-json":
            body = b"<html><body>502 Bad Gateway</body></html>"
            ctype = "text/html"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", "fixture-req-1")
        self.end_headers()
        self.wfile.write(body)


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("%d\n" % server.server_port)
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
