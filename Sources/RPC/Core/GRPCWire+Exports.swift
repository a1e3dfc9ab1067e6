// Status codes, metadata and `RPCError` are the wire's (module GRPCWire, shared with the
// client); whoever writes handlers against RPC uses them too.
@_exported import GRPCWire
