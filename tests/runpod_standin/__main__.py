"""`python -m runpod_standin --port 8080`: serve until Ctrl-C, printing the worker's RunPod variables."""
import argparse
import threading

from .server import RunpodStandIn


def main() -> None:
    parser = argparse.ArgumentParser(prog="runpod_standin", description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    standin = RunpodStandIn(port=args.port).start()
    print(f"RunPod stand-in on {standin.api_base} (endpoint {standin.endpoint_id}, API key {standin.api_key})")
    for name, value in standin.worker_env().items():
        print(f"export {name}='{value}'")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
