"""pocnet's protocol package: the wire schemas and the rules every participant computes alike.

Pure and synchronous: no sockets, no files except key files, no clocks read inside logic.
"""
