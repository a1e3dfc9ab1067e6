// A call fails with `RPCError` (a `StatusCode`, a message, the trailers' `Metadata`): the wire's
// types (module GRPCWire), which whoever uses the client needs too.
@_exported import GRPCWire
