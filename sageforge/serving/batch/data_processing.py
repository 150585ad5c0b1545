"""DataProcessing: InputFilter before a record is sent, JoinSource and OutputFilter on what comes back.

Records are read by the input's content type: ``text/csv`` rows are JSON arrays of strings (RFC 4180 quoting),
``application/json`` and ``application/jsonlines`` records are JSON values. The InputFilter's selection is
written back in the same format and sent, one per line when the input is split by lines.

JoinSource and OutputFilter need the model's answer per record, read by Accept (or the response's
Content-Type): one answer per request under SingleRecord, one line per record under MultiRecord. Then:

- CSV input joins as the input's columns followed by the output's (a JSON answer is one more column);
- JSON input joins as the input object with the answer under ``SageMakerOutput``, or, for input that is not an
  object, ``{"SageMakerInput": ..., "SageMakerOutput": ...}``; a CSV answer is its one field as a string, or
  the list of its fields;
- the OutputFilter selects from the joined record (or, without a join, from the answer), written in the
  input's format (or the answer's).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sageforge.serving.batch.errors import RecordError
from sageforge.serving.batch.jsonpath import JsonPath, NoMatch, parse
from sageforge.serving.batch.spec import DataProcessing

OUTPUT_KEY = "SageMakerOutput"
INPUT_KEY = "SageMakerInput"


class RecordFormat(Protocol):
    def parse(self, text: str) -> Any: ...

    def dump(self, value: Any) -> str: ...


class CsvFormat:
    """A CSV record is one row: a list of strings."""

    def parse(self, text: str) -> Any:
        rows = list(csv.reader([text]))
        if len(rows) != 1:
            raise ValueError("a CSV record must be one row")
        return rows[0]

    def dump(self, value: Any) -> str:
        out = io.StringIO()
        fields = value if isinstance(value, list) else [value]
        csv.writer(out, lineterminator="").writerow(
            [field if isinstance(field, str) else json.dumps(field) for field in fields]
        )
        return out.getvalue()


class JsonFormat:
    def parse(self, text: str) -> Any:
        return json.loads(text)

    def dump(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))


_FORMATS: dict[str, RecordFormat] = {
    "text/csv": CsvFormat(),
    "application/json": JsonFormat(),
    "application/jsonlines": JsonFormat(),
    "application/x-jsonlines": JsonFormat(),
}
SUPPORTED_TYPES = ("text/csv", "application/json", "application/jsonlines")


def record_format(content_type: str | None) -> RecordFormat | None:
    """The format of records of ``content_type`` (parameters ignored), or None when data processing cannot
    read it."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return _FORMATS.get(media_type)


@dataclass(frozen=True)
class SourceRecord:
    """One input record: where it is in its object (1-based) and its parsed value."""

    number: int
    value: Any


@dataclass(frozen=True)
class RecordProcessing:
    input_format: RecordFormat
    input_filter: JsonPath
    output_filter: JsonPath
    join: bool
    # Requests carry one record per line (SplitType Line); otherwise a record is a whole object.
    line_records: bool

    @classmethod
    def of(cls, processing: DataProcessing, content_type: str | None, line_records: bool) -> RecordProcessing:
        """Raises ``ValueError`` for filters outside the JSONPath subset or input data processing cannot read."""
        input_format = record_format(content_type)
        if input_format is None:
            raise ValueError(
                f"DataProcessing reads {', '.join(SUPPORTED_TYPES)} input only, not '{content_type or 'unset'}'."
            )
        return cls(
            input_format,
            parse(processing.input_filter),
            parse(processing.output_filter),
            processing.join_source == "Input",
            line_records,
        )

    @property
    def splits_outputs(self) -> bool:
        """Whether the model's answers are taken apart per record."""
        return self.join or not self.output_filter.selects_all

    def source(self, number: int, record: bytes) -> SourceRecord:
        text = _decode(record, f"record {number}").rstrip("\n").rstrip("\r")
        try:
            return SourceRecord(number, self.input_format.parse(text))
        except ValueError as error:
            raise RecordError(f"record {number} cannot be read as {_name(self.input_format)}: {error}.") from None

    def request(self, source: SourceRecord) -> bytes:
        """The InputFilter's selection of ``source``, as the model receives it."""
        selected = _select(self.input_filter, source.value, f"record {source.number}", "InputFilter")
        text = self.input_format.dump(selected)
        return (text + "\n" if self.line_records else text).encode()

    def outputs(self, sources: Sequence[SourceRecord], body: bytes, content_type: str | None) -> list[bytes]:
        """Each record's output (joined, filtered, written out), from the model's answer ``body`` to the
        request that carried ``sources``."""
        answer_format = record_format(content_type)
        if answer_format is None:
            raise RecordError(
                f"JoinSource and OutputFilter need answers of type {', '.join(SUPPORTED_TYPES)}; the model answered "
                f"'{content_type or 'with no Content-Type'}'."
            )
        text = _decode(body, "the model's answer").rstrip("\n").rstrip("\r")
        pieces = [text] if len(sources) == 1 else [line.rstrip("\r") for line in text.split("\n")]
        if len(pieces) != len(sources):
            raise RecordError(
                f"the model answered {len(pieces)} lines to a request of {len(sources)} records (records "
                f"{sources[0].number}-{sources[-1].number}); JoinSource and OutputFilter need one line per record "
                "(Accept text/csv or application/jsonlines) or BatchStrategy SingleRecord."
            )
        outputs = []
        for source, piece in zip(sources, pieces, strict=True):
            try:
                answer = answer_format.parse(piece)
            except ValueError as error:
                raise RecordError(
                    f"the answer to record {source.number} cannot be read as {_name(answer_format)}: {error}."
                ) from None
            if self.join:
                value, written = self._joined(source.value, answer), self.input_format
            else:
                value, written = answer, answer_format
            selected = _select(self.output_filter, value, f"the output of record {source.number}", "OutputFilter")
            outputs.append(written.dump(selected).encode())
        return outputs

    def _joined(self, source: Any, answer: Any) -> Any:
        if isinstance(self.input_format, CsvFormat):
            return [*source, *(answer if isinstance(answer, list) else [JsonFormat().dump(answer)])]
        if isinstance(answer, list):
            answer = answer[0] if len(answer) == 1 else answer
        if isinstance(source, dict):
            return {**source, OUTPUT_KEY: answer}
        return {INPUT_KEY: source, OUTPUT_KEY: answer}


def _select(path: JsonPath, value: Any, what: str, member: str) -> Any:
    try:
        return path.apply(value)
    except NoMatch as error:
        raise RecordError(f"the {member} '{path.text}' does not match {what}: {error}.") from None


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError(f"{what} is not UTF-8 text: {error}.") from None


def _name(record_format: RecordFormat) -> str:
    return "CSV" if isinstance(record_format, CsvFormat) else "JSON"
