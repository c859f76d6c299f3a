"""io.kestra.plugin.aws.*: Amazon S3 with boto3, the AWS SDK for Python (extra ``aws``).

boto3 is imported when a task runs. The connection properties every AWS task shares (region,
endpointOverride, keys, STS assume-role) and the client they give live in connection.py; the S3
tasks in s3.py (single objects, buckets) and s3_listing.py (List, Downloads, DeleteList).
"""
