"""A transform job's data source: which objects it reads, their bytes as a stream, and where each output goes.

Planning is the training channels' (``engine.channels.plan_channel``): ``S3Prefix`` takes every object under
the prefix in key order, ``ManifestFile`` the objects its manifest lists (``[{"prefix": ...}, "rel/key", ...]``),
each named by its key relative to the prefix. The output of an input named ``rel/key`` is
``<S3OutputPath>/rel/key.out`` (``rel/key.csv.gz`` gives ``rel/key.csv.gz.out``, holding what the model answered
to the decompressed data).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

from sageforge.engine.channels import StagedObject, plan_channel
from sageforge.engine.transfer import gunzip_chunks
from sageforge.engine.workload import ChannelSpec, Compression, DataType, S3Location
from sageforge.serving.batch.errors import RecordError
from sageforge.store.objects.base import NoSuchBucket, NoSuchKey, ObjectStore


def plan_inputs(
    objects: ObjectStore,
    uri: S3Location,
    data_type: DataType,
    compression: Compression,
    *,
    region: str,
    role_arn: str | None,
) -> tuple[StagedObject, ...]:
    """Every input object in key order; ``engine.errors.StagingError`` (SageMaker's words) when there is none
    or the manifest is broken."""
    channel = ChannelSpec(name="transform", uri=uri, data_type=data_type, compression=compression)
    return plan_channel(objects, channel, region=region, role_arn=role_arn)


def read_chunks(objects: ObjectStore, source: StagedObject) -> Iterator[bytes]:
    """The object's bytes in chunks, decompressed if it is gzip; ``RecordError`` when that fails."""
    try:
        chunks: Iterable[bytes] = objects.read_object(source.bucket, source.key)
        if source.gunzip:
            chunks = gunzip_chunks(chunks)
        for chunk in chunks:
            if chunk:
                yield chunk
    except (NoSuchKey, NoSuchBucket):
        raise RecordError("the object no longer exists.") from None
    except zlib.error as error:
        raise RecordError(f"unable to decompress the object as gzip: {error}.") from None


def output_location(output: S3Location, source: StagedObject) -> S3Location:
    # SageMaker's rule is "the input's key, relative to the prefix, plus .out": planning dropped a Gzip
    # object's ".gz" from its name, and it comes back here.
    gz = ".gz" if source.gunzip and source.key.endswith(".gz") else ""
    return output.join(f"{source.path}{gz}.out")
