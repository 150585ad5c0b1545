"""DataProcessing without a server: what InputFilter sends, and how answers are joined, filtered and written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sageforge.serving.batch.data_processing import RecordProcessing
from sageforge.serving.batch.errors import RecordError
from sageforge.serving.batch.payloads import Payload, payloads
from sageforge.serving.batch.spec import BatchStrategy, DataProcessing
from sageforge.serving.batch.splitters import SPLITTERS

CSV = b'1,0.5,2.5\n2,1.5,"3.5"\n\n3,2.5,4.5\n'
JSON_LINES = b'{"id": "a", "features": [1, 2]}\n{"id": "b", "features": [3, 4]}\n'


def processing(content_type: str, **given: Any) -> RecordProcessing:
    return RecordProcessing.of(DataProcessing(**given), content_type, line_records=True)


def requests(
    data: bytes, records: RecordProcessing, strategy: BatchStrategy = "MultiRecord", limit: int = 1000
) -> list[Payload]:
    return list(payloads([data], SPLITTERS["Line"], strategy, limit, records))


def test_an_input_filter_on_csv_sends_the_selected_columns() -> None:
    records = processing("text/csv", input_filter="$[1:]")
    [payload] = requests(CSV, records)
    assert payload.body == b"0.5,2.5\n1.5,3.5\n2.5,4.5\n"
    assert [source.value for source in payload.records] == [
        ["1", "0.5", "2.5"],
        ["2", "1.5", "3.5"],
        ["3", "2.5", "4.5"],
    ]
    assert [p.body for p in requests(CSV, records, "SingleRecord")] == [b"0.5,2.5\n", b"1.5,3.5\n", b"2.5,4.5\n"]


def test_multi_record_payloads_of_filtered_records_stay_within_the_limit() -> None:
    data = b"".join(b"%d,%d,%d\n" % (n, n * 2, n * 3) for n in range(100))
    sent = requests(data, processing("text/csv", input_filter="$[1:]"), limit=40)
    assert all(len(payload.body) <= 40 for payload in sent)
    assert sum(len(payload.records) for payload in sent) == 100
    assert b"".join(payload.body for payload in sent) == b"".join(b"%d,%d\n" % (n * 2, n * 3) for n in range(100))


def test_csv_joins_the_input_columns_with_the_output_columns_and_filters_the_joined_row() -> None:
    records = processing("text/csv", input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
    [payload] = requests(CSV, records)
    assert records.outputs(payload.records, b"0.1\n0.2\n0.3\n", "text/csv") == [b"1,0.1", b"2,0.2", b"3,0.3"]
    everything = processing("text/csv", join_source="Input")
    [payload] = requests(CSV, everything)
    assert everything.outputs(payload.records, b"0.1,x\n0.2,y\n0.3,z\n", "text/csv")[0] == b"1,0.5,2.5,0.1,x"


def test_json_records_are_filtered_and_joined_under_sagemaker_output() -> None:
    records = processing(
        "application/jsonlines",
        input_filter="$.features",
        join_source="Input",
        output_filter="$['id','SageMakerOutput']",
    )
    [payload] = requests(JSON_LINES, records)
    assert payload.body == b"[1,2]\n[3,4]\n"
    outputs = records.outputs(payload.records, b'{"score": 0.1}\n{"score": 0.2}\n', "application/jsonlines")
    assert [json.loads(output) for output in outputs] == [
        {"id": "a", "SageMakerOutput": {"score": 0.1}},
        {"id": "b", "SageMakerOutput": {"score": 0.2}},
    ]


def test_json_input_that_is_not_an_object_is_joined_as_sagemaker_input() -> None:
    records = processing("application/jsonlines", join_source="Input")
    [payload] = requests(b"[1, 2]\n", records)
    assert json.loads(records.outputs(payload.records, b"0.5\n", "text/csv")[0]) == {
        "SageMakerInput": [1, 2],
        "SageMakerOutput": "0.5",
    }


def test_an_output_filter_without_a_join_selects_from_the_answer() -> None:
    records = processing("text/csv", output_filter="$[1]")
    [payload] = requests(CSV, records)
    assert records.outputs(payload.records, b"0,a\n1,b\n0,c\n", "text/csv") == [b"a", b"b", b"c"]


def test_answers_that_cannot_be_matched_to_records_fail_the_object() -> None:
    records = processing("text/csv", join_source="Input")
    [payload] = requests(CSV, records)
    with pytest.raises(RecordError, match="answered 2 lines to a request of 3 records"):
        records.outputs(payload.records, b"0.1\n0.2\n", "text/csv")
    with pytest.raises(RecordError, match="need answers of type"):
        records.outputs(payload.records, b"\x00\x01", "application/x-recordio-protobuf")


def test_a_filter_that_selects_nothing_names_the_record() -> None:
    with pytest.raises(RecordError, match=r"the InputFilter '\$\[5\]' does not match record 1: index 5"):
        requests(CSV, processing("text/csv", input_filter="$[5]"))
    with pytest.raises(RecordError, match="record 2 cannot be read as JSON"):
        requests(b'{"a": 1}\nnot json\n', processing("application/jsonlines", input_filter="$.a"))


def test_data_processing_reads_csv_and_json_only() -> None:
    with pytest.raises(ValueError, match="DataProcessing reads text/csv"):
        processing("application/x-recordio-protobuf", input_filter="$[1:]")
