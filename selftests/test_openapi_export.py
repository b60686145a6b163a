"""`jobcontracts openapi NAME`: every contract exports a document schemathesis
loads, with every endpoint, its request schema and its answers."""

from __future__ import annotations

import subprocess
import sys

import pytest
import schemathesis
import yaml

from jobcontracts.apis import API_NAMES, CONTRACT_FILES
from jobcontracts.loader import load_contract

from .suite_runner import ROOT


def exported(api: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "jobcontracts.cli", "openapi", api],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


@pytest.mark.parametrize("api", API_NAMES)
def test_every_endpoint_is_exported_and_loads_in_schemathesis(api):
    contract = load_contract(ROOT / "contracts" / CONTRACT_FILES[api])
    document = exported(api)
    assert document["openapi"].startswith("3.1")
    for endpoint in contract.endpoints.values():
        operation = document["paths"][endpoint.path][endpoint.method.lower()]
        if endpoint.request is not None:
            assert operation["requestBody"]["content"][endpoint.request_media]["schema"] == \
                endpoint.request
        assert operation["responses"]
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(contract.endpoints)


def test_pos_keeps_the_published_document_and_adds_what_the_contract_assumes():
    published = yaml.safe_load((ROOT / "specs" / "pos-adapter-scripts.openapi.yaml")
                               .read_text(encoding="utf-8"))
    document = exported("pos")
    assert document["components"]["schemas"] == published["components"]["schemas"]
    job = document["paths"]["/api/v1/adapter-scripts/jobs/{jobId}"]["get"]
    assert {"200", "404", "4XX"} <= set(job["responses"])
    generate = document["paths"]["/api/v1/adapter-scripts/generate"]["post"]
    assert "assumed" in generate["description"] and "202" in generate["responses"]


def test_an_unknown_contract_is_a_clear_error():
    done = subprocess.run([sys.executable, "-m", "jobcontracts.cli", "openapi", "nope"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "nope.yaml" in done.stderr
