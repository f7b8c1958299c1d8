"""Walrus: the S3-compatible object store (daemon ``eucalyptus-walrus``).

Module map:

``app``        the aiohttp application: SOAP probe service, then one catch-all S3 route
``context``    :class:`WalrusContext`, what every handler shares
``routing``    request -> (bucket, key, subresources): path style under ``/services/Walrus``
               and at the root, virtual-host style under ``WALRUS_DOMAIN``
``request``    :class:`S3Request` (the routed, authenticated request a handler gets),
               :class:`Requester`, the request body as a verified stream
``pipeline``   authentication, dispatch by (method, level, subresource), S3 error bodies
``identity``   access keys and accounts, asked of the CLC over the internal SOAP, cached briefly
``acl``        canned ACLs, grants, AccessControlPolicy XML, permission checks
``storage``    files under ``bukkits/<bucket>/``: temp file, fsync, rename; orphan removal
``objects``    object versions in the database: put, get, delete, versioning, delete markers
``listing``    ListObjects v1/v2, ListObjectVersions, ListMultipartUploads (keyset queries)
``buckets`` / ``object_handlers`` / ``multipart`` / ``subresources`` / ``post_upload``
               the S3 operations
``internal``   the seam for component-only operations (``EucaOperation`` header, component keys)
``xmlutil``    safe XML parsing (no entities, no DTD, size-limited) and S3 XML output
"""
