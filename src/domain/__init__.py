"""The worker's domain: job model, ports, errors and the run-one-job use case (stdlib only)."""
