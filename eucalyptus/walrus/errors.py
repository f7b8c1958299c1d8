"""S3's errors, and the XML body every one of them is sent with.

Errors shared with the other APIs (authentication, AccessDenied) come from
:mod:`eucalyptus.common.errors` and are spelled the S3 way through their ``s3``
family code; the rest are declared here with S3's code and status.
"""

from __future__ import annotations

from lxml import etree

from eucalyptus.common.errors import AwsError, InvalidParameterValue, RequestExpired


class S3Error(AwsError):
    """Base of the S3-only errors; ``response_headers`` go out with the error answer."""

    def __init__(self, message: str = "", **extra: str) -> None:
        super().__init__(message, **extra)
        self.response_headers: dict[str, str] = {}


class NoSuchBucket(S3Error):
    code = "NoSuchBucket"
    status = 404
    default_message = "The specified bucket does not exist"


class NoSuchKey(S3Error):
    code = "NoSuchKey"
    status = 404
    default_message = "The specified key does not exist."


class NoSuchVersion(S3Error):
    code = "NoSuchVersion"
    status = 404
    default_message = "The specified version does not exist."


class NoSuchUpload(S3Error):
    code = "NoSuchUpload"
    status = 404
    default_message = (
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed."
    )


class NoSuchBucketPolicy(S3Error):
    code = "NoSuchBucketPolicy"
    status = 404
    default_message = "The bucket policy does not exist"


class NoSuchTagSet(S3Error):
    code = "NoSuchTagSet"
    status = 404
    default_message = "The TagSet does not exist"


class NoSuchCORSConfiguration(S3Error):
    code = "NoSuchCORSConfiguration"
    status = 404
    default_message = "The CORS configuration does not exist"


class NoSuchLifecycleConfiguration(S3Error):
    code = "NoSuchLifecycleConfiguration"
    status = 404
    default_message = "The lifecycle configuration does not exist"


class BucketAlreadyExists(S3Error):
    code = "BucketAlreadyExists"
    status = 409
    default_message = (
        "The requested bucket name is not available. The bucket namespace is shared by "
        "all users of the system. Please select a different name and try again."
    )


class BucketAlreadyOwnedByYou(S3Error):
    code = "BucketAlreadyOwnedByYou"
    status = 409
    default_message = (
        "Your previous request to create the named bucket succeeded and you already own it."
    )


class BucketNotEmpty(S3Error):
    code = "BucketNotEmpty"
    status = 409
    default_message = "The bucket you tried to delete is not empty"


class InvalidBucketName(S3Error):
    code = "InvalidBucketName"
    status = 400
    default_message = "The specified bucket is not valid."


class TooManyBuckets(S3Error):
    code = "TooManyBuckets"
    status = 400
    default_message = "You have attempted to create more buckets than allowed"


class InvalidURI(S3Error):
    code = "InvalidURI"
    status = 400
    default_message = "Couldn't parse the specified URI."


class KeyTooLongError(S3Error):
    code = "KeyTooLongError"
    status = 400
    default_message = "Your key is too long"


class BadDigest(S3Error):
    code = "BadDigest"
    status = 400
    default_message = "The Content-MD5 you specified did not match what we received."


class InvalidDigest(S3Error):
    code = "InvalidDigest"
    status = 400
    default_message = "The Content-MD5 you specified was invalid."


class XAmzContentSHA256Mismatch(S3Error):
    code = "XAmzContentSHA256Mismatch"
    status = 400
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class EntityTooLarge(S3Error):
    code = "EntityTooLarge"
    status = 400
    default_message = "Your proposed upload exceeds the maximum allowed size"


class EntityTooSmall(S3Error):
    code = "EntityTooSmall"
    status = 400
    default_message = "Your proposed upload is smaller than the minimum allowed size"


class IncompleteBody(S3Error):
    code = "IncompleteBody"
    status = 400
    default_message = (
        "You did not provide the number of bytes specified by the Content-Length HTTP header"
    )


class MissingContentLength(S3Error):
    code = "MissingContentLength"
    status = 411
    default_message = "You must provide the Content-Length HTTP header."


class MalformedXML(S3Error):
    code = "MalformedXML"
    status = 400
    default_message = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class MalformedACLError(S3Error):
    code = "MalformedACLError"
    status = 400
    default_message = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class MalformedPOSTRequest(S3Error):
    code = "MalformedPOSTRequest"
    status = 400
    default_message = "The body of your POST request is not well-formed multipart/form-data."


class InvalidArgument(S3Error):
    code = "InvalidArgument"
    status = 400
    default_message = "Invalid Argument"


class InvalidRequest(S3Error):
    code = "InvalidRequest"
    status = 400
    default_message = "Invalid Request"


class InvalidRange(S3Error):
    code = "InvalidRange"
    status = 416
    default_message = "The requested range is not satisfiable"


class InvalidPart(S3Error):
    code = "InvalidPart"
    status = 400
    default_message = (
        "One or more of the specified parts could not be found. The part might not have "
        "been uploaded, or the specified entity tag might not have matched the part's "
        "entity tag."
    )


class InvalidPartOrder(S3Error):
    code = "InvalidPartOrder"
    status = 400
    default_message = (
        "The list of parts was not in ascending order. The parts list must be specified "
        "in order by part number."
    )


class InvalidLocationConstraint(S3Error):
    code = "InvalidLocationConstraint"
    status = 400
    default_message = "The specified location-constraint is not valid"


class IllegalVersioningConfigurationException(S3Error):
    code = "IllegalVersioningConfigurationException"
    status = 400
    default_message = "The Versioning element must be specified"


class PreconditionFailed(S3Error):
    code = "PreconditionFailed"
    status = 412
    default_message = "At least one of the pre-conditions you specified did not hold"


class MethodNotAllowed(S3Error):
    code = "MethodNotAllowed"
    status = 405
    default_message = "The specified method is not allowed against this resource."


class NotImplementedError_(S3Error):
    code = "NotImplemented"
    status = 501
    default_message = "A header you provided implies functionality that is not implemented"


class UnresolvableGrantByEmailAddress(S3Error):
    code = "UnresolvableGrantByEmailAddress"
    status = 400
    default_message = "The e-mail address you provided does not match any account on record."


class InvalidTag(S3Error):
    code = "InvalidTag"
    status = 400
    default_message = "The tag provided was not a valid tag."


class RequestTimeout(S3Error):
    code = "RequestTimeout"
    status = 400
    default_message = (
        "Your socket connection to the server was not read from or written to within the "
        "timeout period."
    )


class InvalidObjectState(S3Error):
    code = "InvalidObjectState"
    status = 403
    default_message = "The operation is not valid for the object's storage class"


class AuthorizationHeaderMalformed(S3Error):
    code = "AuthorizationHeaderMalformed"
    status = 400
    default_message = "The authorization header is malformed"


class ServiceUnavailable(S3Error):
    code = "ServiceUnavailable"
    status = 503
    default_message = "Please reduce your request rate."


class NotModified(S3Error):
    """304: sent with no body (If-None-Match / If-Modified-Since)."""

    code = "NotModified"
    status = 304
    default_message = "Not Modified"


def s3_code(error: AwsError) -> tuple[str, int]:
    """The S3 (code, status) of any error.

    A presigned URL used after its expiry is S3's ``AccessDenied`` "Request has
    expired", not RequestTimeTooSkewed; a value the common layers reject is
    ``InvalidArgument``.
    """
    if isinstance(error, RequestExpired) and "Expires" in error.extra:
        return "AccessDenied", 403
    if type(error) is InvalidParameterValue:
        return "InvalidArgument", 400
    return error.code_for("s3")


def error_xml(error: AwsError, *, resource: str, request_id: str, host_id: str = "") -> bytes:
    """``<Error><Code/><Message/>[extra]<Resource/><RequestId/><HostId/></Error>``."""
    code, _status = s3_code(error)
    root = etree.Element("Error")
    etree.SubElement(root, "Code").text = code
    etree.SubElement(root, "Message").text = error.message
    for name, value in error.extra.items():
        etree.SubElement(root, name).text = value
    etree.SubElement(root, "Resource").text = resource
    etree.SubElement(root, "RequestId").text = request_id
    etree.SubElement(root, "HostId").text = host_id or request_id
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
