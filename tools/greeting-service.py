#!/usr/bin/python3
"""A small sample HTTP service for the demo and end-to-end tests: answers every GET with its
version and instance, e.g. "hello from greeting v1 at 127.0.0.1:9001 (path /)". /health answers
200 while healthy; POST-free control: create the file given by --unhealthy-file to make /health 503.
Usage: greeting-service.py --port P [--version v1] [--address 127.0.0.1] [--unhealthy-file F]"""
import argparse
import http.server
import os
import socketserver
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--version", default="v1")
    ap.add_argument("--unhealthy-file", default="")
    args = ap.parse_args()
    me = f"{args.address}:{args.port}"

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as HAProxy's backend connections expect

        def do_GET(self):
            if self.path == "/health":
                bad = args.unhealthy_file and os.path.exists(args.unhealthy_file)
                self.reply(503 if bad else 200, "unhealthy\n" if bad else "ok\n")
            else:
                self.reply(200, f"hello from greeting {args.version} at {me} (path {self.path})\n")

        def reply(self, status, body):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    try:
        Server((args.address, args.port), Handler).serve_forever()
    except KeyboardInterrupt:
        pass
    except OSError as e:
        print(f"greeting-service: cannot listen on {me}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
