#!/bin/sh
# protoc from Python's grpcio-tools, for machines without a protoc binary:
#   python3 -m venv /tmp/protoc-venv && /tmp/protoc-venv/bin/pip install grpcio-tools
#   PROTOC="$PWD/protoc.sh" cargo run
exec "${PROTOC_PYTHON:-/tmp/protoc-venv/bin/python}" -m grpc_tools.protoc "$@"
