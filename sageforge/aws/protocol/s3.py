"""What S3 does on the wire that botocore's S3 model does not encode, as data for the rest-xml protocol.

* Operations sharing a method and path are told apart by request facts the model leaves out:
  ``x-amz-copy-source`` makes a PUT a copy; ``partNumber`` and ``uploadId`` make it a part upload;
  ``uploadId`` turns POST into CompleteMultipartUpload, GET into ListParts and DELETE into an abort.
* Output documents have root elements the model does not name (``ListBucketResult``, ...).
* GetBucketLocation's output is the root element's text.
* A response with ``Content-Range`` is 206 Partial Content.
"""

from __future__ import annotations

from sageforge.aws.protocol.rest_xml import RequestFact, RestXmlQuirks

_COPY_SOURCE = RequestFact("header", "x-amz-copy-source")
_UPLOAD_ID = RequestFact("query", "uploadId")
_PART_NUMBER = RequestFact("query", "partNumber")

S3_QUIRKS = RestXmlQuirks(
    namespace="http://s3.amazonaws.com/doc/2006-03-01/",
    request_facts={
        "CopyObject": (_COPY_SOURCE,),
        "UploadPart": (_PART_NUMBER, _UPLOAD_ID),
        "UploadPartCopy": (_PART_NUMBER, _UPLOAD_ID, _COPY_SOURCE),
        "CompleteMultipartUpload": (_UPLOAD_ID,),
        "ListParts": (_UPLOAD_ID,),
        "AbortMultipartUpload": (_UPLOAD_ID,),
    },
    # S3 Express (directory buckets) only; it shares ListBuckets' GET /.
    hidden_operations=frozenset({"ListDirectoryBuckets"}),
    result_roots={
        "ListBuckets": "ListAllMyBucketsResult",
        "ListObjects": "ListBucketResult",
        "ListObjectsV2": "ListBucketResult",
        "CreateMultipartUpload": "InitiateMultipartUploadResult",
        "DeleteObjects": "DeleteResult",
        "GetBucketLocation": "LocationConstraint",
    },
    text_results=frozenset({"GetBucketLocation"}),
    partial_content_member="ContentRange",
)
