"""gRPC servicers: decode the request, call the domain, map the result or the error."""
