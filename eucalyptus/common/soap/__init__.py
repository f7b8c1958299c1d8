"""The internal SOAP layer: safe codec, message declarations, signed client and server.

Components talk SOAP 1.1 document/literal over HTTP in the ``http://eucalyptus.ucsb.edu/``
namespace. An operation table (:mod:`.operations`) drives both :class:`.client.SoapClient`
and :func:`.server.make_soap_handler`; every request is signed with the sender's component
key and checked against pinned certificates (:mod:`.security`).
"""
