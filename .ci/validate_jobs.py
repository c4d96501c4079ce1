#!/usr/bin/env python3
"""Check the job files `archsim sweep … --emit k8s|batch` writes against the
managers' own schemas, offline (issue 23):

- Kubernetes manifests with kubernetes-validate (PyPI), which bundles the
  OpenAPI schemas of each Kubernetes release, strict (no unknown fields).
- AWS Batch inputs with botocore's (PyPI) service model of Batch and its
  parameter validator, the check `aws batch … --cli-input-json` makes
  before it sends anything.

Usage: validate_jobs.py JOBS_DIR_K8S JOBS_DIR_BATCH
"""
import json
import sys
from pathlib import Path

import kubernetes_validate
import yaml
from botocore.session import get_session
from botocore.validate import ParamValidator

K8S_VERSION = "1.30.0"


def check_k8s(folder: Path) -> None:
    for name in ("k8s-job.yaml", "k8s-merge.yaml"):
        doc = yaml.safe_load((folder / name).read_text())
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        print(f"validate_jobs: {name}: a valid batch/v1 Job for Kubernetes {K8S_VERSION} (strict)")


def check_batch(folder: Path) -> None:
    model = get_session().get_service_model("batch")
    validator = ParamValidator()
    for name, operation in (
        ("batch-job-definition.json", "RegisterJobDefinition"),
        ("batch-submit-array.json", "SubmitJob"),
        ("batch-submit-merge.json", "SubmitJob"),
    ):
        params = json.loads((folder / name).read_text())
        report = validator.validate(params, model.operation_model(operation).input_shape)
        if report.has_errors():
            sys.exit(f"validate_jobs: {name}: {report.generate_report()}")
        print(f"validate_jobs: {name}: valid input of AWS Batch {operation}")


if __name__ == "__main__":
    check_k8s(Path(sys.argv[1]))
    check_batch(Path(sys.argv[2]))
