#!/opt/conda/bin/python
"""Run an OpenHexa pipeline: the `pipeline` mode of the OpenHexa entrypoint.

The pipeline's code is the folder HEXA_PIPELINE_DIR (default ~/pipeline), with a
`pipeline.py` that defines it with the SDK's @pipeline decorator. Its
configuration is a JSON object: `--config '{...}'`, `--config-file path`, or
HEXA_PIPELINE_CONFIG. Exits non-zero when the pipeline fails.
"""

import argparse
import json
import os
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(prog="openhexa-entrypoint pipeline", description=__doc__)
    parser.add_argument("-c", "--config", default=os.environ.get("HEXA_PIPELINE_CONFIG", "{}"))
    parser.add_argument("-f", "--config-file")
    args = parser.parse_args()

    folder = Path(os.environ.get("HEXA_PIPELINE_DIR", Path.home() / "pipeline"))
    if not (folder / "pipeline.py").is_file():
        print(f"openhexa: no pipeline.py in {folder} (set HEXA_PIPELINE_DIR)", file=sys.stderr)
        return 66
    config = json.loads(Path(args.config_file).read_text() if args.config_file else args.config)

    # A pipeline run in a container is not the SDK's standalone `python pipeline.py`.
    os.environ.setdefault("HEXA_ENVIRONMENT", "LOCAL_PIPELINE")
    from openhexa.sdk.pipelines.runtime import import_pipeline

    pipeline = import_pipeline(str(folder))
    print(f"openhexa: running pipeline {pipeline.name!r} from {folder}", file=sys.stderr, flush=True)
    pipeline(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
